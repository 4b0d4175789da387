"""Hand committed outbox rows to RQ, or run them in-process when no Redis is configured.

Called from the ``after_commit`` session event with the ids of the rows the transaction wrote. In RQ mode a row
is marked ``dispatched``, enqueued, and put back to ``pending`` if Redis refused it; a crash in between leaves a
``dispatched`` row without an RQ job, which the redispatcher hands out again. Nothing is lost either way: if
Redis is down the row stays ``pending`` and the worker's periodic redispatch, or ``referral-hub jobs dispatch``,
hands it out later; a duplicate hand-out is harmless because the runner is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select, update

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.queues import get_queue, redis_configured, rq_retry
from referral_hub.jobs.registry import get_job

logger = logging.getLogger(__name__)


def rq_job_id(message_id: int) -> str:
    """The RQ job id of an outbox row: deterministic, so a re-enqueue replaces rather than multiplies."""
    return f"outbox-{message_id}"


def dispatch_committed(app: Flask, message_ids: Sequence[int]) -> None:
    """Hand out just-committed outbox rows: RQ when ``REDIS_URL`` is set, else run them now, in this process."""
    if redis_configured(app):
        with app.app_context():
            rows = _pending_rows(app, message_ids)
            if rows:
                enqueue_rows(app, rows)
        return
    from referral_hub.jobs.runner import execute_message

    for message_id in message_ids:
        # Each run gets its own app context, hence its own session: the caller's session is mid-commit.
        execute_message(app, message_id, raise_for_retry=False)


def _pending_rows(app: Flask, message_ids: Sequence[int]) -> list[tuple[int, str, str, int]]:
    """(id, name, queue, attempts) of the rows still pending (a row rolled back with its SAVEPOINT is gone)."""
    stmt = select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.queue, OutboxMessage.attempts).where(
        OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == OutboxStatus.PENDING.value
    )
    with db.engine.connect() as conn:
        return [(r.id, r.name, r.queue, r.attempts) for r in conn.execute(stmt)]


def enqueue_to_rq(app: Flask, message_id: int, name: str, queue_name: str, failures_so_far: int) -> None:
    """Enqueue ``run_outbox_message(message_id)`` with the retries this row has left.

    :raises KeyError: the row's queue is not configured.
    :raises RedisError: Redis is unreachable.
    """
    from referral_hub.jobs.runner import run_outbox_message

    try:
        timeout = get_job(name).timeout
    except LookupError:
        timeout = None  # the worker may know a handler this process has not imported
    get_queue(queue_name, app).enqueue(
        run_outbox_message,
        message_id,
        job_id=rq_job_id(message_id),
        description=f"outbox {message_id} {name}",
        retry=rq_retry(app, failures_so_far),
        job_timeout=timeout,
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
    )


def enqueue_rows(app: Flask, rows: Sequence[tuple[int, str, str, int]]) -> list[int]:
    """Mark each ``(id, name, queue, attempts)`` row ``dispatched``, enqueue it, and put back what failed.

    Marking first means no worker can be running the job yet, so the update never waits on a running job's lock;
    a crash between the two is covered by the redispatcher (a ``dispatched`` row whose RQ job does not exist).
    Must run inside an app context. Stops at the first Redis error (Redis is down: the rest would fail too).

    :returns: the ids that were enqueued.
    """
    if not rows:
        return []
    with db.engine.begin() as conn:
        marked = set(
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r[0] for r in rows]), OutboxMessage.status == OutboxStatus.PENDING.value)
                .values(status=OutboxStatus.DISPATCHED.value, dispatched_at=utcnow())
                .returning(OutboxMessage.id)
            ).scalars()
        )
    enqueued: list[int] = []
    not_enqueued: list[int] = []
    for index, (message_id, name, queue_name, attempts) in enumerate(rows):
        if message_id not in marked:
            continue  # no longer pending: another process handed it out or ran it meanwhile
        try:
            enqueue_to_rq(app, message_id, name, queue_name, attempts)
        except KeyError:
            logger.error("outbox: message %s uses unconfigured queue %s; it stays pending", message_id, queue_name)
            not_enqueued.append(message_id)
            continue
        except RedisError as exc:
            rest = [r[0] for r in rows[index:] if r[0] in marked]
            logger.warning(
                "outbox: Redis unavailable (%s); %d message(s) stay pending until redispatch",
                type(exc).__name__,
                len(rest),
            )
            not_enqueued.extend(rest)
            break
        enqueued.append(message_id)
    if not_enqueued:
        with db.engine.begin() as conn:
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(not_enqueued), OutboxMessage.status == OutboxStatus.DISPATCHED.value)
                .values(status=OutboxStatus.PENDING.value, dispatched_at=None)
            )
    return enqueued
