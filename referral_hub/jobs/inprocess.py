"""Jobs without Redis: run after commit in the committing process, retried by a thread in the web process.

The embedded deployment (one machine, SQLite, no Redis) still gets the outbox's guarantees: a job runs right
after the commit that wrote it (``dispatch.dispatch_committed``); a failed attempt leaves the row ``pending`` with
``next_attempt_at``; and this thread, started by ``referral-hub serve`` in every web worker, runs rows whose retry
is due — and rows that never ran because their process stopped between commit and run. Several threads (one per
gunicorn worker) may pick the same row; the runner's row lock and its re-check make the second one a no-op.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import select

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs.models import OutboxMessage
from referral_hub.jobs.queues import redis_configured
from referral_hub.jobs.runner import Outcome, execute_message

logger = logging.getLogger(__name__)

#: Rows that never ran (no ``next_attempt_at``) are left alone this long: their own commit is running them.
NEVER_RAN_GRACE_S = 10.0
_THREAD_KEY = "inprocess_retry_thread"


def run_due_messages(app: Flask, *, grace_s: float = NEVER_RAN_GRACE_S, limit: int = 100) -> int:
    """Run every ``pending`` row that is due, oldest first, in this process.

    :returns: how many rows were run to an outcome other than "not due any more".
    """
    from referral_hub.jobs.redispatch import due_pending_filter

    with app.app_context():
        ids = list(
            db.session.execute(
                select(OutboxMessage.id).where(due_pending_filter(grace_s)).order_by(OutboxMessage.id).limit(limit)
            ).scalars()
        )
        db.session.remove()
    ran = 0
    for message_id in ids:
        outcome = execute_message(app, message_id, raise_for_retry=False, due_by=utcnow())
        if outcome is not Outcome.NOT_DUE:
            ran += 1
    return ran


class InProcessRetryThread(threading.Thread):
    """Daemon thread polling for due rows every ``poll_interval_s`` seconds until ``stop()``."""

    def __init__(self, app: Flask, poll_interval_s: float) -> None:
        super().__init__(name="referral-hub-job-retry", daemon=True)
        self.app = app
        self.poll_interval_s = poll_interval_s
        self._stop_requested = threading.Event()

    def run(self) -> None:
        while not self._stop_requested.wait(self.poll_interval_s):
            try:
                run_due_messages(self.app)
            except Exception:  # a database hiccup must not end the thread; the next poll tries again
                logger.exception("outbox: in-process retry pass failed")

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the thread to end after its current pass, and wait for it."""
        self._stop_requested.set()
        self.join(timeout)


def start_inprocess_retry_thread(app: Flask, *, poll_interval_s: float = 5.0) -> InProcessRetryThread | None:
    """Start the retry thread for ``app`` unless Redis is configured (workers retry then) or one is running.

    Call it in each serving process (after gunicorn forks its workers: threads do not survive a fork).
    """
    if redis_configured(app):
        return None
    state = app.extensions.setdefault("referral_hub.jobs", {})
    thread: InProcessRetryThread | None = state.get(_THREAD_KEY)
    if thread is not None and thread.is_alive():
        return thread
    thread = InProcessRetryThread(app, poll_interval_s)
    state[_THREAD_KEY] = thread
    thread.start()
    logger.info("outbox: in-process retry thread started (every %.1f s)", poll_interval_s)
    return thread
