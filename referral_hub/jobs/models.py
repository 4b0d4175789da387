"""The ``job_outbox`` table: one row per job, written in the same transaction as the data it is about.

The row is the durable record of the job. Redis only carries a pointer to it (the row id), so a Redis outage, a
flushed Redis or a killed worker loses nothing: the row is still ``pending`` or ``dispatched`` and is handed out
again (``redispatch.py``). The row is marked ``succeeded`` in the same transaction as the handler's effects, which
is what makes a re-run a no-op.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from referral_hub.db_types import BigIntPK, JSONDocument, UTCDateTime, utcnow
from referral_hub.extensions import db


class OutboxStatus(enum.StrEnum):
    """Life cycle of an outbox row.

    ``pending``: committed, not (successfully) handed to RQ yet — or, without Redis, waiting for its next
    in-process attempt. ``dispatched``: handed to RQ (RQ owns retries from here). ``succeeded`` and ``failed``
    are final; ``failed`` means every retry was used (see ``last_error``), and an operator may reset it with
    ``referral-hub jobs retry``.
    """

    PENDING = "pending"
    DISPATCHED = "dispatched"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINAL_STATUSES = (OutboxStatus.SUCCEEDED, OutboxStatus.FAILED)


class OutboxMessage(db.Model):
    """One job: a registered handler name plus id arguments (never PHI, G6)."""

    __tablename__ = "job_outbox"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'dispatched', 'succeeded', 'failed')",
            name="status",
        ),
        # The redispatcher and the in-process retry thread only ever look for unfinished rows by status and time.
        Index("ix_job_outbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(64))
    #: Keyword arguments of the handler: ints and short id strings only (checked by ``enqueue``).
    args: Mapped[dict[str, int | str]] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    #: Attempts that ran the handler to an outcome (a worker killed mid-job does not count; see ``redispatches``).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Times a ``dispatched`` row was handed out again because its worker disappeared; bounded like attempts.
    redispatches: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the next attempt is due after a failure (RQ schedules it; the in-process thread polls for it).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Error class and a PHI-free message of the last failure (``runner.describe_error``).
    last_error: Mapped[str | None] = mapped_column(String(300))
    #: ``X-Request-ID`` of the request that enqueued the job, to join worker logs with request logs.
    request_id: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<OutboxMessage id={self.id} name={self.name} status={self.status} attempts={self.attempts}>"
