"""Per-Task status timeline: a write hook enqueues a job per Task version; the job records one row.

Why a job rather than writing the row in the hook: the hook runs inside every Task write (API, portal, partner
polling, bulk loads) and must stay quick (``fhir/hooks.py``); the timeline is reporting data that may lag a
moment. The outbox makes the job as durable as the write itself, and the unique key (resource_pk, version_id)
plus the existence check make a re-run a no-op.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.fhir.hooks import WriteEvent, on_write
from referral_hub.fhir.models import FhirResourceVersion
from referral_hub.jobs import enqueue, job
from referral_hub.referrals.models import REFERENCE_LENGTH, TaskStatusEvent

logger = logging.getLogger(__name__)

RECORD_TASK_VERSION = "referrals.record_task_version"


@on_write("Task")
def enqueue_task_version(session: Session, event: WriteEvent) -> None:
    """Write hook: queue the timeline row of the Task version just written, in the same transaction."""
    enqueue(RECORD_TASK_VERSION, session=session, resource_pk=event.resource_pk, version_id=event.version_id)


@job(RECORD_TASK_VERSION, queue="default")
def record_task_version(session: Session, *, resource_pk: int, version_id: int) -> None:
    """Record the status timeline row of one Task version (idempotent)."""
    exists = session.execute(
        select(TaskStatusEvent.id).where(
            TaskStatusEvent.resource_pk == resource_pk, TaskStatusEvent.version_id == version_id
        )
    ).first()
    if exists is not None:
        return
    # This version and the one before it, in one round trip (the (resource_pk, version_id) unique index serves it).
    versions = (
        session.execute(
            select(FhirResourceVersion)
            .where(FhirResourceVersion.resource_pk == resource_pk, FhirResourceVersion.version_id <= version_id)
            .order_by(FhirResourceVersion.version_id.desc())
            .limit(2)
        )
        .scalars()
        .all()
    )
    version = versions[0] if versions and versions[0].version_id == version_id else None
    if version is None or version.resource_type != "Task":
        logger.info("timeline: no Task version %s/%s (deleted?); nothing to record", resource_pk, version_id)
        return
    previous_body = versions[1].body if len(versions) > 1 else None
    body = version.body
    session.add(
        TaskStatusEvent(
            resource_pk=resource_pk,
            task_id=version.resource_id,
            version_id=version_id,
            previous_status=_status(previous_body),
            status=_status(body) or "unknown",
            owner_reference=_reference(body, "owner"),
            requester_reference=_reference(body, "requester"),
            for_reference=_reference(body, "for"),
            changed_at=version.last_updated,
        )
    )


def task_timeline(session: Session, resource_pk: int) -> list[TaskStatusEvent]:
    """The recorded versions of one Task, oldest first."""
    return list(
        session.execute(
            select(TaskStatusEvent)
            .where(TaskStatusEvent.resource_pk == resource_pk)
            .order_by(TaskStatusEvent.version_id)
        ).scalars()
    )


def _status(body: dict[str, Any] | None) -> str | None:
    status = (body or {}).get("status")
    return status[:32] if isinstance(status, str) else None


def _reference(body: dict[str, Any], element: str) -> str | None:
    """The element's ``reference`` string only; identifier-only or display-only references give None."""
    value = body.get(element)
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str) or len(reference) > REFERENCE_LENGTH:
        return None
    return reference
