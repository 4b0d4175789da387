"""SMART on FHIR system scopes: parsing, narrowing a request to what a client may have, and per-interaction checks.

SMART v2 scopes name the interactions as letters in a fixed order — ``c`` create, ``r`` read (read, vread,
history), ``u`` update, ``d`` delete, ``s`` search — e.g. ``system/Task.cruds`` or ``system/*.rs``. The v1 forms
``read`` (= ``rs``), ``write`` (= ``cud``) and ``*`` (= ``cruds``) are accepted too (SMART App Launch 2.x,
"Scopes for requesting clinical data"). Scopes with a query part (``system/Observation.rs?category=…``) are
granular v2 scopes the hub does not enforce, so they are never granted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: The FHIR interaction each route performs → its SMART v2 permission letter.
INTERACTION_LETTERS = {
    "create": "c",
    "read": "r",
    "vread": "r",
    "history": "r",
    "update": "u",
    "delete": "d",
    "search": "s",
}
ORDER = "cruds"
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE_RE = re.compile(r"^(?P<context>system|user|patient)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<perm>[a-z*]+)$")

#: Types whose access a wildcard scope does not confer: the audit log must be asked for by name.
EXPLICIT_ONLY_TYPES = frozenset({"AuditEvent"})


@dataclass(frozen=True)
class Scope:
    """One parsed scope: ``context`` (system/user/patient), ``resource_type`` (``*`` for all) and letters."""

    context: str
    resource_type: str
    letters: frozenset[str]

    def covers(self, resource_type: str, letter: str) -> bool:
        if letter not in self.letters:
            return False
        if self.resource_type == "*":
            return resource_type not in EXPLICIT_ONLY_TYPES
        return self.resource_type == resource_type

    def render(self) -> str:
        return f"{self.context}/{self.resource_type}." + "".join(c for c in ORDER if c in self.letters)


@lru_cache(maxsize=1024)
def parse_scope(text: str) -> Scope | None:
    """A :class:`Scope`, or None when ``text`` is not a clinical-data scope the hub can enforce."""
    match = _SCOPE_RE.match(text.strip())
    if not match:
        return None
    perm = match["perm"]
    if perm in _V1:
        letters = _V1[perm]
    else:
        # v2: a non-empty subsequence of "cruds" (order fixed, no repeats).
        positions = [ORDER.find(ch) for ch in perm]
        if not perm or -1 in positions or positions != sorted(set(positions)):
            return None
        letters = perm
    return Scope(match["context"], match["type"], frozenset(letters))


def parse_scopes(text: str | Iterable[str], *, context: str = "system") -> list[Scope]:
    """Every enforceable scope of ``context`` in a space-separated string (or an iterable of scope strings)."""
    items = text.split() if isinstance(text, str) else list(text)
    scopes = [parse_scope(item) for item in items]
    return [s for s in scopes if s is not None and s.context == context]


def invalid_scopes(text: str, *, context: str = "system") -> list[str]:
    """The scope strings in ``text`` that are not enforceable ``context`` scopes (for registration errors)."""
    return [item for item in text.split() if (s := parse_scope(item)) is None or s.context != context]


def allows(scopes: Iterable[str], resource_type: str, interaction: str) -> bool:
    """Whether any of ``scopes`` permits ``interaction`` (a key of :data:`INTERACTION_LETTERS`) on the type."""
    letter = INTERACTION_LETTERS[interaction]
    return any(scope.covers(resource_type, letter) for scope in parse_scopes(scopes))


def narrow(requested: str, registered: Iterable[str]) -> list[str]:
    """The scopes to grant for a token request: each requested scope cut down to what registration allows.

    ``system/*.cruds`` requested by a client registered for ``system/Task.rs`` yields ``system/Task.rs``; a scope
    the client may not have at all is dropped (RFC 6749 §3.3 lets the server issue fewer scopes than asked).
    """
    allowed = parse_scopes(registered)
    granted: list[str] = []
    for want in parse_scopes(requested):
        for have in allowed:
            letters = want.letters & have.letters
            if not letters:
                continue
            if want.resource_type == "*":
                resource_type = have.resource_type
            elif have.resource_type in ("*", want.resource_type):
                if have.resource_type == "*" and want.resource_type in EXPLICIT_ONLY_TYPES:
                    continue
                resource_type = want.resource_type
            else:
                continue
            rendered = Scope(want.context, resource_type, frozenset(letters)).render()
            if rendered not in granted:
                granted.append(rendered)
    return granted


__all__ = [
    "EXPLICIT_ONLY_TYPES",
    "INTERACTION_LETTERS",
    "Scope",
    "allows",
    "invalid_scopes",
    "narrow",
    "parse_scope",
    "parse_scopes",
]
