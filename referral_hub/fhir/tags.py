"""``meta.tag`` codes the hub sets on resources it owns elsewhere (a "system of record" marker).

A resource tagged :data:`DIRECTORY_TAG` is the FHIR projection of a community resource directory listing
(HSDS, issue 5): the directory is where it is edited, so the FHIR API and the UI treat it as read-only and no
caller may set the tag themselves (it would make their resource look like directory data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RECORD_SOURCE_SYSTEM = "https://referral-hub.example.org/fhir/CodeSystem/record-source"
DIRECTORY_TAG: dict[str, str] = {
    "system": RECORD_SOURCE_SYSTEM,
    "code": "hsds-directory",
    "display": "Projected from the community resource directory (HSDS); edit it there",
}


def has_directory_tag(body: Mapping[str, Any] | None) -> bool:
    """Whether ``body`` carries :data:`DIRECTORY_TAG` (malformed meta counts as untagged)."""
    meta = (body or {}).get("meta")
    tags = meta.get("tag") if isinstance(meta, Mapping) else None
    if not isinstance(tags, list):
        return False
    return any(
        isinstance(t, Mapping) and t.get("system") == RECORD_SOURCE_SYSTEM and t.get("code") == DIRECTORY_TAG["code"]
        for t in tags
    )
