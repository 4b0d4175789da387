"""Write hooks that keep ``fhir_compartment`` current, inside the writing transaction.

Creation grants the resource to the creating principal's organization at once; Task grants are queued and
computed in the session's ``before_commit`` (see ``compartments.py`` for why).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from referral_hub.fhir.batch import before_batch_flush
from referral_hub.fhir.hooks import WriteEvent, on_write
from referral_hub.fhir.search_params import all_resource_types
from referral_hub.policy.compartments import flush_dirty_tasks, grant_to_creator, grants_changed, mark_task_dirty
from referral_hub.security.principal import current_principal


def maintain_compartments(session: Session, written: WriteEvent) -> None:
    """Write hook for every resource type."""
    if written.previous is None:
        principal = current_principal()
        if principal is not None and principal.organization_id is not None:
            grant_to_creator(session, written.resource_pk, principal.organization_id)
    if written.resource_type == "Task" and grants_changed(written.body, written.previous):
        mark_task_dirty(session, written.resource_pk, created=written.previous is None, body=written.body)


def install() -> None:
    """Register the hook for every stored type, and the Task grant refresh that runs at commit (idempotent)."""
    on_write(*all_resource_types())(maintain_compartments)
    before_batch_flush(flush_dirty_tasks)


__all__ = ["install", "maintain_compartments"]
