"""Stage 3 (HTTP 409): Task status transitions — gravity-sdoh-cc.md §5.1 (referral) and §5.2 (patient).

Only run when ``workflow=True``: the bulk loader stores Tasks in whatever state a partner or the IG examples
have them in. Edges are the IG state diagrams exactly; keeping the status unchanged is always allowed (an
update may touch other elements), and every state may go to ``entered-in-error``.
"""

from __future__ import annotations

from types import MappingProxyType

from .issues import Issue, error
from .profiles import TaskKind

ENTERED_IN_ERROR = "entered-in-error"

# §5.1: draft is optional; terminal: rejected, cancelled, completed, failed, entered-in-error.
REFERRAL_INITIAL: frozenset[str] = frozenset({"draft", "requested"})
REFERRAL_EDGES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "draft": frozenset({"requested"}),
        "requested": frozenset({"accepted", "rejected", "cancelled"}),
        "accepted": frozenset({"in-progress", "on-hold", "cancelled", "completed", "failed"}),
        "in-progress": frozenset({"on-hold", "cancelled", "completed", "failed"}),
        "on-hold": frozenset({"in-progress", "cancelled", "completed", "failed"}),
        "rejected": frozenset(),
        "cancelled": frozenset(),
        "completed": frozenset(),
        "failed": frozenset(),
        ENTERED_IN_ERROR: frozenset(),
    }
)

# §5.2: ready is the only initial state; terminal: completed, cancelled, failed, entered-in-error.
PATIENT_INITIAL: frozenset[str] = frozenset({"ready"})
PATIENT_EDGES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "ready": frozenset({"in-progress", "on-hold", "cancelled", "completed", "failed"}),
        "in-progress": frozenset({"on-hold", "cancelled", "completed", "failed"}),
        "on-hold": frozenset({"in-progress", "cancelled", "completed", "failed"}),
        "completed": frozenset(),
        "cancelled": frozenset(),
        "failed": frozenset(),
        ENTERED_IN_ERROR: frozenset(),
    }
)


def _tables(kind: TaskKind) -> tuple[frozenset[str], MappingProxyType[str, frozenset[str]]] | None:
    if kind == "referral":
        return REFERRAL_INITIAL, REFERRAL_EDGES
    if kind == "patient":
        return PATIENT_INITIAL, PATIENT_EDGES
    return None


def allowed_next(kind: TaskKind, current: str) -> frozenset[str]:
    """Statuses a Task of ``kind`` may move to from ``current`` (besides staying where it is)."""
    tables = _tables(kind)
    if tables is None:
        return frozenset()
    edges = tables[1].get(current, frozenset())
    return edges if current == ENTERED_IN_ERROR else edges | {ENTERED_IN_ERROR}


def initial_status_issues(kind: TaskKind, status: object) -> list[Issue]:
    tables = _tables(kind)
    if tables is None or not isinstance(status, str) or status in tables[0]:
        return []
    allowed = " or ".join(f"'{s}'" for s in sorted(tables[0]))
    return [
        error(
            "business-rule",
            "Task.status",
            f"A new {kind} Task must start as {allowed}, not '{status}'.",
        )
    ]


def transition_issues(kind: TaskKind, old_status: object, new_status: object) -> list[Issue]:
    if _tables(kind) is None or not isinstance(new_status, str) or old_status == new_status:
        return []
    if not isinstance(old_status, str):
        return []  # nothing stored to move from (e.g. a status-less legacy version); stage 2 checks the new one
    allowed = allowed_next(kind, old_status)
    if new_status in allowed:
        return []
    if not allowed:
        detail = f"'{old_status}' is final"
    elif allowed == {ENTERED_IN_ERROR}:
        detail = f"'{old_status}' can only become 'entered-in-error'"
    else:
        detail = f"from '{old_status}' it may become {', '.join(repr(s) for s in sorted(allowed))}"
    return [
        error(
            "business-rule",
            "Task.status",
            f"A {kind} Task cannot go from '{old_status}' to '{new_status}': {detail}.",
        )
    ]
