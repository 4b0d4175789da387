"""``task_status_event``: one row per Task version, the status timeline behind program-manager reports.

Reports such as time-to-accept and time-to-close need "when did this Task enter each status"; answering that
from JSON bodies in ``fhir_resource_version`` means scanning every version. This table keeps one narrow row per
version instead, written by the Task write hook in the same transaction. References are kept as reference
strings only: the ``for`` reference points at a Patient, so no display text or other patient data is copied here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, UTCDateTime, utcnow
from referral_hub.extensions import db

REFERENCE_LENGTH = 1024


class TaskStatusEvent(db.Model):
    """The status (and routing) of one Task version, next to the status of the version before it."""

    __tablename__ = "task_status_event"
    __table_args__ = (
        # One row per version, whatever path wrote it.
        UniqueConstraint("resource_pk", "version_id", name="uq_task_status_event_version"),
        Index("ix_task_status_event_status_changed", "status", "changed_at"),
        Index("ix_task_status_event_task_changed", "task_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.pk", ondelete="CASCADE"))
    #: The Task's logical id (``Task/<task_id>``).
    task_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    #: Status of the previous version (None for the first version).
    previous_status: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    owner_reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))
    requester_reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))
    #: ``Task.for.reference`` only (PHI-adjacent: never the display).
    for_reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))
    #: ``meta.lastUpdated`` of the version: when the change happened.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<TaskStatusEvent Task/{self.task_id}/_history/{self.version_id} {self.previous_status}->{self.status}>"
