"""Run one outbox message: the function RQ executes, and what in-process mode calls after commit.

Exactly-once effects come from one rule: the handler's writes and ``status = succeeded`` commit in the same
transaction, under a lock on the outbox row. A worker killed mid-job commits neither, so the row is handed out
again and the re-run does the work once; a duplicate delivery waits for the lock, sees ``succeeded`` and does
nothing. Failures are recorded in a second, short transaction (attempt count, PHI-free error, next due time), and
the last permitted failure marks the row ``failed``.
"""

from __future__ import annotations

import enum
import logging
import traceback
from datetime import datetime, timedelta

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.errors import JobAttemptFailed, JobError
from referral_hub.jobs.models import FINAL_STATUSES, OutboxMessage, OutboxStatus
from referral_hub.jobs.outbox import IN_HANDLER_KEY
from referral_hub.jobs.queues import max_attempts, retry_delay
from referral_hub.jobs.registry import get_job, run_handler

logger = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 300
_process_app: Flask | None = None


class Outcome(enum.StrEnum):
    """What one execution did."""

    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"  # already final (a duplicate delivery)
    RETRY = "retry"  # failed, another attempt is due later
    FAILED = "failed"  # failed for the last time
    MISSING = "missing"  # no such row (rolled back with a SAVEPOINT, or purged)
    NOT_DUE = "not_due"  # another process retried it meanwhile and its next attempt is later


def run_outbox_message(message_id: int) -> str:
    """RQ entry point: run outbox row ``message_id`` in the worker.

    Uses the app the worker pushed before forking (``referral-hub worker``) or, under a bare ``rq worker``, builds
    one per process from the environment.

    :raises JobAttemptFailed: after a failed attempt that has retries left, so RQ schedules the retry (``Retry``
        was set at enqueue). Its message is the sanitised description only.
    """
    outcome = execute_message(_app(), message_id, raise_for_retry=True)
    return outcome.value


def _app() -> Flask:
    global _process_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _process_app is None:
        from referral_hub.app import create_app

        _process_app = create_app()
    return _process_app


def execute_message(app: Flask, message_id: int, *, raise_for_retry: bool, due_by: datetime | None = None) -> Outcome:
    """Run the handler of one outbox row once, in its own app context (its own session and transaction).

    :param raise_for_retry: RQ mode: raise ``JobAttemptFailed`` when a retry is due, and treat the row as
        dispatched; in-process mode returns ``Outcome.RETRY`` and the retry thread picks the row up when due.
    :param due_by: run only if the row's next attempt is due by then (re-checked under the lock, so two retry
        threads that picked the same row do not both run it).
    """
    with app.app_context():
        session = db.session()
        try:
            message = lock_message(session, message_id)
            if message is None:
                session.rollback()
                logger.info("outbox: message %s not found (rolled back or purged)", message_id)
                return Outcome.MISSING
            if message.status in FINAL_STATUSES:
                session.rollback()
                logger.info("outbox: message %s already %s; nothing to do", message_id, message.status)
                return Outcome.SKIPPED
            if due_by is not None and message.next_attempt_at is not None and message.next_attempt_at > due_by:
                session.rollback()
                return Outcome.NOT_DUE
            if message.request_id:
                g.request_id = message.request_id  # log lines of the job carry the id of the request behind it
            spec = get_job(message.name)
            args = dict(message.args)
            session.info[IN_HANDLER_KEY] = True
            try:
                run_handler(spec, session, args)
            finally:
                session.info.pop(IN_HANDLER_KEY, None)
            now = utcnow()
            message.status = OutboxStatus.SUCCEEDED.value
            message.attempts += 1
            message.last_attempt_at = now
            message.finished_at = now
            message.next_attempt_at = None
            message.last_error = None
            session.commit()
        except Exception as exc:
            session.rollback()
            try:
                return _record_failure(app, session, message_id, exc, raise_for_retry=raise_for_retry)
            except JobAttemptFailed:
                raise
            except Exception as record_exc:  # e.g. the database went away: leave the row for redispatch
                session.rollback()
                logger.error(
                    "outbox: message %s failed (%s) and the failure could not be recorded: %s",
                    message_id,
                    describe_error(exc),
                    describe_error(record_exc),
                )
                if raise_for_retry:
                    raise JobAttemptFailed(describe_error(record_exc)) from None
                return Outcome.RETRY
        logger.info("outbox: message %s (%s) succeeded", message_id, spec.name)
        return Outcome.SUCCEEDED


def lock_message(session: Session, message_id: int) -> OutboxMessage | None:
    """Load the row under a lock held until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE`` locks the row; a concurrent run of the same message waits, then sees the
    final status. SQLite has no row locks: the database write lock serialises runs the same way. The app opens
    SQLite transactions with ``BEGIN IMMEDIATE`` (``sqlite_locking``); the write below takes that lock even without it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(last_attempt_at=utcnow()))
    return session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)


def _record_failure(app: Flask, session: Session, message_id: int, exc: Exception, *, raise_for_retry: bool) -> Outcome:
    description = describe_error(exc)
    message = lock_message(session, message_id)
    if message is None:
        session.rollback()
        return Outcome.MISSING
    if message.status in FINAL_STATUSES:  # another run finished it while this one failed
        session.rollback()
        return Outcome.SKIPPED
    now = utcnow()
    message.attempts += 1
    message.last_attempt_at = now
    message.last_error = description
    final = message.attempts >= max_attempts(app)
    if final:
        message.status = OutboxStatus.FAILED.value
        message.finished_at = now
        message.next_attempt_at = None
    else:
        message.next_attempt_at = now + timedelta(seconds=retry_delay(app, message.attempts))
        if raise_for_retry:
            # RQ holds the retry now; the redispatcher must not treat the row as never handed out.
            message.status = OutboxStatus.DISPATCHED.value
            message.dispatched_at = message.dispatched_at or now
    name, attempts = message.name, message.attempts
    session.commit()
    frames = "".join(traceback.format_tb(exc.__traceback__))
    if final:
        logger.error(
            "outbox: message %s (%s) failed for good after %d attempts: %s\n%s",
            message_id,
            name,
            attempts,
            description,
            frames,
        )
        return Outcome.FAILED
    logger.warning(
        "outbox: message %s (%s) attempt %d failed, retrying: %s\n%s", message_id, name, attempts, description, frames
    )
    if raise_for_retry:
        raise JobAttemptFailed(description) from None
    return Outcome.RETRY


def describe_error(exc: BaseException) -> str:
    """``Class: message``, safe to store and log.

    Only ``JobError`` messages are kept verbatim (their authors promise ids and codes only). Other messages may
    quote data — a database error echoes the row's values, a ``KeyError`` the key — so they are replaced by the
    driver error class or a fixed note; the traceback frames in the worker log show where it happened.
    """
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(exc, JobError):
        text = str(exc)
    elif isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
        code = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate", None)
        text = f"{type(orig).__name__}" + (f" (SQLSTATE {code})" if code else "")
    else:
        text = "message withheld (may contain PHI)"
    return f"{name}: {text}"[:_MAX_ERROR_CHARS]
