"""Reference normalisation shared by indexing and searching.

A reference to a resource on this server may be written relative (``Organization/1``) or absolute
(``https://hub.example/fhir/Organization/1``); both must find the same rows. References to other servers keep
their absolute URL, since ``Organization/1`` there is a different organisation (gravity-sdoh-cc.md §3.7, §11.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RELATIVE_RE = re.compile(r"^(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@dataclass(frozen=True)
class ParsedReference:
    """Either a local target (``target_type``/``target_id``) or an external/canonical ``url``."""

    target_type: str | None
    target_id: str | None
    url: str | None

    @property
    def is_local(self) -> bool:
        return self.url is None


def parse_reference(value: str, local_bases: tuple[str, ...]) -> ParsedReference | None:
    """Classify one literal reference.

    :param local_bases: absolute FHIR base URLs (without trailing slash) that mean "this server".
    :returns: None for contained (``#x``) references, which point inside the resource itself.
    """
    value = value.strip()
    if not value or value.startswith("#"):
        return None
    match = _RELATIVE_RE.match(value)
    if match:
        return ParsedReference(match["type"], match["id"], None)
    for base in local_bases:
        if value.startswith(base + "/"):
            match = _RELATIVE_RE.match(value[len(base) + 1 :])
            if match:
                return ParsedReference(match["type"], match["id"], None)
    return ParsedReference(None, None, value)
