"""Hand committed outbox rows to RQ, or run them in-process when no Redis is configured.

RQ mode, just-committed rows (``dispatch_committed``): ``enqueue`` already wrote them as ``dispatched``, so the
happy path costs no database round trip after the commit — only the Redis enqueue. If Redis refuses, the rows
are put back to ``pending`` (the redispatcher and ``referral-hub jobs dispatch`` pick those up as soon as Redis
answers); if the process dies before enqueueing, the row is a ``dispatched`` row without an RQ job, which the
redispatcher hands out after ``OUTBOX_REDISPATCH_AFTER_S``. Rows that are ``pending`` for another reason go
through ``enqueue_rows``: marked ``dispatched`` first, so the update never waits on a running job's lock, then
enqueued. A duplicate hand-out is harmless: the runner is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select, update

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.queues import get_queue, redis_configured, rq_retry
from referral_hub.jobs.registry import get_job

logger = logging.getLogger(__name__)


class OutboxEntry(NamedTuple):
    """What dispatching needs to know about a row, without reading it back."""

    id: int
    name: str
    queue: str
    attempts: int


def rq_job_id(message_id: int) -> str:
    """The RQ job id of an outbox row: deterministic, so a re-enqueue replaces rather than multiplies."""
    return f"outbox-{message_id}"


def dispatch_committed(app: Flask, entries: Sequence[OutboxEntry]) -> None:
    """Hand out rows the caller's transaction has just committed.

    RQ mode: enqueue them (they were written as ``dispatched``). In-process mode: run them now, in this process.
    A row whose SAVEPOINT was rolled back no longer exists; its job, if enqueued, finds nothing and does nothing.
    """
    if not redis_configured(app):
        _run_here(app, [entry.id for entry in entries])
        return
    with app.app_context():
        not_enqueued = _enqueue_entries(app, entries)
        if not_enqueued:
            with db.engine.begin() as conn:
                conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(not_enqueued), OutboxMessage.status == OutboxStatus.DISPATCHED.value)
                    .values(status=OutboxStatus.PENDING.value, dispatched_at=None)
                )


def dispatch_pending(app: Flask, message_ids: Sequence[int]) -> None:
    """Hand out ``pending`` rows now (after ``jobs retry``): enqueue them, or run them here without Redis."""
    if not redis_configured(app):
        _run_here(app, message_ids)
        return
    with app.app_context(), db.engine.connect() as conn:
        rows = [
            OutboxEntry(r.id, r.name, r.queue, r.attempts)
            for r in conn.execute(
                select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.queue, OutboxMessage.attempts).where(
                    OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == OutboxStatus.PENDING.value
                )
            )
        ]
    with app.app_context():
        enqueue_rows(app, rows)


def _run_here(app: Flask, message_ids: Sequence[int]) -> None:
    from referral_hub.jobs.runner import execute_message

    for message_id in message_ids:
        # Each run gets its own app context, hence its own session: the caller's session is mid-commit.
        execute_message(app, message_id, raise_for_retry=False)


def enqueue_to_rq(app: Flask, entry: OutboxEntry) -> None:
    """Enqueue ``run_outbox_message(entry.id)`` with the retries this row has left.

    :raises KeyError: the row's queue is not configured.
    :raises RedisError: Redis is unreachable.
    """
    from referral_hub.jobs.runner import run_outbox_message

    try:
        timeout = get_job(entry.name).timeout
    except LookupError:
        timeout = None  # the worker may know a handler this process has not imported
    get_queue(entry.queue, app).enqueue(
        run_outbox_message,
        entry.id,
        job_id=rq_job_id(entry.id),
        description=f"outbox {entry.id} {entry.name}",
        retry=rq_retry(app, entry.attempts),
        job_timeout=timeout,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
    )


def _enqueue_entries(app: Flask, entries: Sequence[OutboxEntry]) -> list[int]:
    """Enqueue each entry; returns the ids that were not enqueued. Stops at the first Redis error."""
    not_enqueued: list[int] = []
    for index, entry in enumerate(entries):
        try:
            enqueue_to_rq(app, entry)
        except KeyError:
            logger.error("outbox: message %s uses unconfigured queue %s; it stays pending", entry.id, entry.queue)
            not_enqueued.append(entry.id)
        except RedisError as exc:
            rest = [e.id for e in entries[index:]]
            logger.warning(
                "outbox: Redis unavailable (%s); %d message(s) stay pending until redispatch",
                type(exc).__name__,
                len(rest),
            )
            not_enqueued.extend(rest)
            break
    return not_enqueued


def enqueue_rows(app: Flask, rows: Sequence[OutboxEntry]) -> list[int]:
    """Mark ``pending`` rows ``dispatched``, enqueue them, and put back what could not be enqueued.

    Marking first means no worker can be running the job yet, so the update never waits on a running job's lock.
    Must run inside an app context.

    :returns: the ids that were enqueued.
    """
    if not rows:
        return []
    with db.engine.begin() as conn:
        marked = set(
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]), OutboxMessage.status == OutboxStatus.PENDING.value)
                .values(status=OutboxStatus.DISPATCHED.value, dispatched_at=utcnow())
                .returning(OutboxMessage.id)
            ).scalars()
        )
    # Rows no longer pending were handed out or run by another process meanwhile.
    candidates = [row for row in rows if row.id in marked]
    not_enqueued = _enqueue_entries(app, candidates)
    if not_enqueued:
        with db.engine.begin() as conn:
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(not_enqueued), OutboxMessage.status == OutboxStatus.DISPATCHED.value)
                .values(status=OutboxStatus.PENDING.value, dispatched_at=None)
            )
    return [row.id for row in candidates if row.id not in set(not_enqueued)]
