"""``validate_resource``: the one entry point the store calls on every write.

Stages, each with its HTTP status (see ``issues.py``):

1. structure (400) — JSON object, supported ``resourceType``, id, strict JSON datatypes, fhir.resources R4B
   model. Nothing else runs on a resource that fails here.
2. content (422) — required bindings of base R4, base invariants, and the SDOHCC profile rules that apply
   (``profiles.py`` decides which).
3. workflow (409, only when ``workflow=True``) — Task initial status on create, state-machine edge on update.

Stages 2 and 3 are both reported in one error; 422 wins over 409 because the body must be fixed first.
"""

from __future__ import annotations

from typing import Any

from . import state_machine
from .bindings import binding_issues
from .issues import HTTP_PROFILE, HTTP_STRUCTURE, HTTP_TRANSITION, Issue, ValidationError, error, has_errors
from .profile_rules import profile_issues
from .profiles import TaskKind, task_kind
from .structure import resource_type_issues, structure_issues
from .task_rules import task_issues


def validate_resource(
    resource: dict[str, Any], previous: dict[str, Any] | None = None, *, workflow: bool = True
) -> list[Issue]:
    """Validate one resource about to be written.

    Raises ``ValidationError`` (all issues, errors first, and the right ``http_status``) on failure; returns
    the non-blocking warnings otherwise. ``previous`` is the current stored version on update (None on
    create). ``workflow=False`` (bulk loader) skips the transition rules — create-time initial status and
    state-machine edges — but keeps the structural and profile rules.
    """
    resource_type, issues = resource_type_issues(resource)
    if resource_type is None:
        raise ValidationError(issues, HTTP_STRUCTURE)
    assert isinstance(resource, dict)
    issues = structure_issues(resource_type, resource)
    if has_errors(issues):
        raise ValidationError(issues, HTTP_STRUCTURE)

    content = binding_issues(resource_type, resource)
    transition: list[Issue] = []
    if resource_type == "Task":
        kind = task_kind(resource)
        content += task_issues(resource, kind)
        if workflow:
            transition = _task_workflow_issues(resource, kind, previous, content)
    else:
        content += profile_issues(resource)

    if has_errors(content):
        raise ValidationError(content + transition, HTTP_PROFILE)
    if has_errors(transition):
        raise ValidationError(transition + content, HTTP_TRANSITION)
    return [i for i in content + transition if not i.is_error]


def _task_workflow_issues(
    task: dict[str, Any], kind: TaskKind, previous: dict[str, Any] | None, content: list[Issue]
) -> list[Issue]:
    status = task.get("status")
    if previous is None:
        return state_machine.initial_status_issues(kind, status)
    if not isinstance(previous, dict) or previous.get("resourceType") != "Task":
        return []  # the store decides what replacing a different resource type means
    old_kind = task_kind(previous)
    if old_kind == kind:
        return state_machine.transition_issues(kind, previous.get("status"), status)
    if old_kind == "other":
        # A plain Task turned into an SDOHCC one enters the state machine now: treat it like a create.
        return state_machine.initial_status_issues(kind, status)
    # Switching between referral and patient Task, or dropping the profile to escape the state machine.
    content.append(
        error(
            "business-rule",
            "Task.code",
            f"An existing {old_kind} Task cannot become a {kind} Task; create a new Task instead.",
        )
    )
    return []
