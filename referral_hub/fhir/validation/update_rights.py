"""Who may change what on a Task (gravity-sdoh-cc.md §6.3, acceptance check T-9 / PT-2).

Pure functions for the access-control layer, which knows who the caller is and maps the returned issues
(code ``forbidden``) to HTTP 403.

* requester (the Task's author): may change anything.
* owner: only ``status``, ``statusReason``, ``output`` and ``note``, and only to the statuses the performer
  side sets (§5.1: accepted, rejected, in-progress, on-hold, failed, completed; cancelled is shared).
* patient: only ``status``, ``statusReason``, ``output``, only on a Task For Patient, and only to statuses the
  patient app sets (§5.2). The caller passes ``"patient"`` only after establishing that the authenticated
  patient (or their RelatedPerson) *is* ``Task.owner``; any other patient is ``"other"``.
* other: nothing. (Claiming an unassigned Task — setting ``owner`` on an owner-less ``requested`` Task — is a
  separate decision for the access layer.)
"""

from __future__ import annotations

from typing import Any, Literal

from .issues import Issue
from .profiles import task_kind

Actor = Literal["requester", "owner", "patient", "other"]

# Elements never compared: server-managed (meta, id) or derived from the rest (text).
IGNORED_ELEMENTS = frozenset({"meta", "text", "id"})

OWNER_ELEMENTS = frozenset({"status", "statusReason", "output", "note"})
OWNER_STATUSES = frozenset({"accepted", "rejected", "in-progress", "on-hold", "failed", "completed", "cancelled"})
PATIENT_ELEMENTS = frozenset({"status", "statusReason", "output"})
PATIENT_STATUSES = frozenset({"in-progress", "on-hold", "completed", "failed", "cancelled"})


def _same(a: object, b: object) -> bool:
    """JSON equality that does not confuse true with 1 or 1 with 1.0 (Python's == does)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _element(key: object) -> str:
    name = str(key)
    return name[1:] if name.startswith("_") and len(name) > 1 else name  # `_status` extends `status`


def changed_elements(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Top-level element names that differ, ignoring meta/text/id (``_x`` counts as ``x``)."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changed: set[str] = set()
    for key in old.keys() | new.keys():
        element = _element(key)
        if element in IGNORED_ELEMENTS or element in changed:
            continue
        if key not in old or key not in new or not _same(old[key], new[key]):
            changed.add(element)
    return changed


def _forbidden(element: str, diagnostics: str) -> Issue:
    return Issue("error", "forbidden", f"Task.{element}", diagnostics)


def check_update_rights(old: dict[str, Any], new: dict[str, Any], actor: Actor) -> list[Issue]:
    """Error issues (code ``forbidden``) for every change ``actor`` may not make; empty when allowed."""
    if actor == "requester":
        return []
    changed = changed_elements(old, new)
    if not changed:
        return []
    if actor == "owner":
        allowed, statuses, who = OWNER_ELEMENTS, OWNER_STATUSES, "The Task's owner"
    elif actor == "patient":
        if task_kind(old if isinstance(old, dict) else {}) != "patient":
            return [_forbidden("status", "A patient may only update Tasks For Patient assigned to them.")]
        allowed, statuses, who = PATIENT_ELEMENTS, PATIENT_STATUSES, "The patient"
    else:
        return [_forbidden(e, "Only the Task's requester or its owner may change it.") for e in sorted(changed)]
    issues = [
        _forbidden(e, f"{who} may change only {', '.join(sorted(allowed))}; not {e}.")
        for e in sorted(changed - allowed)
    ]
    new_status = new.get("status") if isinstance(new, dict) else None
    if "status" in changed and isinstance(new_status, str) and new_status not in statuses:
        issues.append(
            _forbidden(
                "status",
                f"{who} may not set status '{new_status}' (allowed: {', '.join(sorted(statuses))}).",
            )
        )
    return issues
