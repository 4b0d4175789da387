"""Hand out again what was committed but never reached, or never finished in, a worker.

Two kinds of rows are picked up:

* ``pending`` rows whose enqueue failed (Redis was down at commit time) — once Redis answers again;
* ``dispatched`` rows not finished ``OUTBOX_REDISPATCH_AFTER_S`` after they were handed out (or after their
  retry was due) whose RQ job is gone, failed, or started by a worker that stopped heart-beating — the worker
  died. On PostgreSQL a row whose job is running right now is locked by that run and skipped (``SKIP LOCKED``).
  Each such re-dispatch is counted; a row handed out more than ``JOB_MAX_RETRIES`` + 1 times without finishing
  (a job that kills its worker) is marked ``failed`` instead of looping forever.

Workers run ``redispatch`` periodically under a Redis lock, so at most one pass per interval happens across all
workers; ``referral-hub jobs dispatch`` runs it on demand. Without Redis it runs due rows in-process instead.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import SQLAlchemyError

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.dispatch import OutboxEntry, enqueue_rows, enqueue_to_rq, rq_job_id
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.queues import max_attempts, redis_configured, redis_connection

logger = logging.getLogger(__name__)

#: RQ states in which a job is still waiting for a worker: handing it out again would only duplicate it.
_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED}
#: A periodic pass leaves rows younger than this alone: their own commit is probably dispatching them right now.
PERIODIC_PENDING_GRACE_S = 5


@dataclass(frozen=True)
class RedispatchReport:
    """What one pass did."""

    enqueued_pending: int = 0
    redispatched: int = 0
    given_up: int = 0
    ran_in_process: int = 0

    @property
    def total(self) -> int:
        return self.enqueued_pending + self.redispatched + self.given_up + self.ran_in_process


def redispatch(
    app: Flask, *, stuck_after_s: int | None = None, pending_grace_s: float = 0, limit: int = 500
) -> RedispatchReport:
    """One pass over unfinished rows (see the module docstring).

    :param stuck_after_s: how long a dispatched row may stay unfinished (default ``OUTBOX_REDISPATCH_AFTER_S``).
    :param pending_grace_s: skip ``pending`` rows younger than this.
    :param limit: rows per kind per pass.
    :raises RedisError: when Redis is unreachable (nothing was changed).
    """
    if not redis_configured(app):
        from referral_hub.jobs.inprocess import run_due_messages

        return RedispatchReport(ran_in_process=run_due_messages(app, grace_s=pending_grace_s, limit=limit))
    stuck = timedelta(seconds=app.config["OUTBOX_REDISPATCH_AFTER_S"] if stuck_after_s is None else stuck_after_s)
    with app.app_context():
        redis_connection(app).ping()  # fail before touching anything when Redis is down
        enqueued = enqueue_rows(app, _due_pending(pending_grace_s, limit))
        redispatched, given_up = _redispatch_stuck(app, stuck, limit)
    report = RedispatchReport(enqueued_pending=len(enqueued), redispatched=redispatched, given_up=given_up)
    if report.total:
        logger.info(
            "outbox: redispatch enqueued %d pending, re-dispatched %d stuck, gave up on %d",
            report.enqueued_pending,
            report.redispatched,
            report.given_up,
        )
    return report


def due_pending_filter(grace_s: float) -> ColumnElement[bool]:
    """``pending`` rows whose retry is due, or that were never run and are older than ``grace_s``."""
    now = utcnow()
    return and_(
        OutboxMessage.status == OutboxStatus.PENDING.value,
        or_(
            OutboxMessage.next_attempt_at <= now,
            and_(
                OutboxMessage.next_attempt_at.is_(None),
                OutboxMessage.created_at <= now - timedelta(seconds=grace_s),
            ),
        ),
    )


def _due_pending(grace_s: float, limit: int) -> list[OutboxEntry]:
    stmt = (
        select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.queue, OutboxMessage.attempts)
        .where(due_pending_filter(grace_s))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    with db.engine.connect() as conn:
        return [OutboxEntry(r.id, r.name, r.queue, r.attempts) for r in conn.execute(stmt)]


def _redispatch_stuck(app: Flask, stuck: timedelta, limit: int) -> tuple[int, int]:
    now = utcnow()
    cutoff = now - stuck
    session = db.session()
    try:
        rows = (
            session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.DISPATCHED.value,
                    OutboxMessage.dispatched_at <= cutoff,
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= cutoff),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        connection = redis_connection(app)
        redispatched = given_up = 0
        for message in rows:
            if _still_in_rq(connection, message.id, cutoff):
                continue
            if message.redispatches + 1 >= max_attempts(app):
                message.status = OutboxStatus.FAILED.value
                message.finished_at = now
                message.last_error = f"WorkerLost: handed out {message.redispatches + 1} times without finishing"
                logger.error("outbox: message %s (%s) given up: %s", message.id, message.name, message.last_error)
                given_up += 1
                continue
            # Enqueue while holding the row lock: a worker that starts it at once waits for this commit.
            enqueue_to_rq(app, OutboxEntry(message.id, message.name, message.queue, message.attempts))
            message.redispatches += 1
            message.dispatched_at = now
            redispatched += 1
        session.commit()
        return redispatched, given_up
    except (RedisError, KeyError):
        session.rollback()
        raise
    finally:
        session.close()


def _still_in_rq(connection: Redis, message_id: int, cutoff: datetime) -> bool:
    """Whether RQ still holds the job: waiting in a queue, scheduled, or started by a live worker."""
    try:
        job = Job.fetch(rq_job_id(message_id), connection=connection)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in _WAITING:
        return True
    if status == JobStatus.STARTED:
        # The worker refreshes the heartbeat every job_monitoring_interval (a third of the redispatch delay).
        return job.last_heartbeat is not None and job.last_heartbeat > cutoff
    return False


def lock_key(app: Flask) -> str:
    return f"{app.config['QUEUE_PREFIX']}:outbox-redispatch"


def redispatch_interval(app: Flask) -> float:
    """Seconds between periodic passes: half the redispatch delay, between 1 and 30 s."""
    return float(max(1, min(30, int(app.config["OUTBOX_REDISPATCH_AFTER_S"]) // 2)))


def periodic_pass(app: Flask, owner: str) -> RedispatchReport | None:
    """One pass if no other worker ran one within the interval (a Redis key with a TTL is the lock).

    The key is not released after the pass: it expires, which spaces passes out across all workers.
    """
    interval = redispatch_interval(app)
    if not redis_connection(app).set(lock_key(app), owner, nx=True, px=int(interval * 1000)):
        return None
    return redispatch(app, pending_grace_s=min(PERIODIC_PENDING_GRACE_S, interval))


def run_periodically(app: Flask, parent_pid: int) -> None:
    """Loop of the worker's redispatch process; ends when its parent (the worker) is gone."""
    # Ctrl-C reaches the whole process group; the worker handles it and terminates this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    interval = redispatch_interval(app)
    owner = f"{os.uname().nodename}:{os.getpid()}"
    outage_logged = False
    while os.getppid() == parent_pid:
        try:
            periodic_pass(app, owner)
            outage_logged = False
        except (RedisError, SQLAlchemyError) as exc:
            if not outage_logged:  # one line per outage, not one per second
                logger.warning("outbox: redispatch pass failed (%s); will retry", type(exc).__name__)
                outage_logged = True
        except Exception:
            logger.exception("outbox: redispatch pass failed")
        time.sleep(interval)
