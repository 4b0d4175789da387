"""Small, total helpers for reading resource dicts.

The profile rules run only after stage 1 proved the resource is well-formed R4, but they are written to be
total anyway (never raise on a surprising shape), because ``previous`` versions come from the store and
may predate today's rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_TYPE_ID_RE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text_of(value: object) -> str | None:
    """A non-blank string, or None."""
    return value if isinstance(value, str) and value.strip() else None


def codings(concept: object) -> list[tuple[str | None, str | None]]:
    """(system, code) pairs of a CodeableConcept."""
    out: list[tuple[str | None, str | None]] = []
    for c in as_list(as_dict(concept).get("coding")):
        if isinstance(c, dict):
            system, code = c.get("system"), c.get("code")
            out.append((system if isinstance(system, str) else None, code if isinstance(code, str) else None))
    return out


def has_coding(concept: object, system: str, code: str) -> bool:
    return (system, code) in codings(concept)


def claimed_profiles(resource: dict[str, Any]) -> set[str]:
    """meta.profile canonicals without their ``|version`` suffix."""
    out: set[str] = set()
    for p in as_list(as_dict(resource.get("meta")).get("profile")):
        if isinstance(p, str):
            out.add(p.split("|", 1)[0])
    return out


def reference_type(ref: object) -> str | None:
    """Target type of a literal reference (``Patient/1``, ``https://x/fhir/Patient/1/_history/2``).

    None when it cannot be told from the reference alone: contained (``#p1``), ``urn:uuid:`` (resolved by
    the transaction layer), identifier-only or logical references. Reference.type is used as a fallback.
    """
    r = as_dict(ref)
    literal = r.get("reference")
    if isinstance(literal, str):
        m = _TYPE_ID_RE.search(literal)
        if m:
            return m.group(1)
        if literal.startswith("#") or literal.startswith("urn:"):
            return None
    rtype = r.get("type")
    if isinstance(rtype, str) and "/" not in rtype:
        return rtype
    return None


def contained_type(resource: dict[str, Any], ref: object) -> str | None:
    """resourceType of the contained resource a ``#id`` reference points at, if any."""
    literal = as_dict(ref).get("reference")
    if not (isinstance(literal, str) and literal.startswith("#")):
        return None
    for c in as_list(resource.get("contained")):
        if isinstance(c, dict) and c.get("id") == literal[1:]:
            rt = c.get("resourceType")
            return rt if isinstance(rt, str) else None
    return None


def parse_datetime(value: object) -> tuple[datetime, int] | None:
    """A FHIR date/dateTime/instant → (UTC datetime, precision) where precision is 1 year .. 4 time.

    Partial dates keep their precision so comparisons can be made at the coarser one (FHIRPath semantics:
    ``2020`` is neither before nor after ``2020-05-01``).
    """
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 4:
            return datetime(int(value), 1, 1, tzinfo=UTC), 1
        if len(value) == 7:
            return datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC), 2
        if len(value) == 10:
            return datetime(int(value[:4]), int(value[5:7]), int(value[8:10]), tzinfo=UTC), 3
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC), 4


_PREFIX_LEN = {1: 4, 2: 7, 3: 10}


def is_before(a: object, b: object) -> bool:
    """True only when date/time ``a`` is certainly before ``b`` (compared at the coarser precision)."""
    pa, pb = parse_datetime(a), parse_datetime(b)
    if pa is None or pb is None:
        return False
    precision = min(pa[1], pb[1])
    if precision < 4:
        # Compare the calendar parts as written (YYYY-MM-DD prefixes sort lexically); converting a
        # dateTime to UTC first could move it to another day.
        n = _PREFIX_LEN[precision]
        return str(a)[:n] < str(b)[:n]
    return pa[0] < pb[0]
