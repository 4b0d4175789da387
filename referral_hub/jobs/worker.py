"""``referral-hub worker``: RQ workers with the scheduler, plus the outbox redispatch loop.

Fork safety (G15, CKAN): the worker forks a work horse per job, the scheduler and the redispatch loop are child
processes too. Pooled database connections must never be shared across a fork, so the engine is disposed before
anything forks and the parent process never opens a connection again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from multiprocessing.process import BaseProcess

from flask import Flask
from rq import Worker

from referral_hub.extensions import db
from referral_hub.jobs.queues import get_queue, redis_connection
from referral_hub.jobs.redispatch import periodic_pass, run_periodically

logger = logging.getLogger(__name__)


def job_monitoring_interval(app: Flask) -> int:
    """How often the worker checks its work horse and refreshes the job's heartbeat.

    A third of ``OUTBOX_REDISPATCH_AFTER_S`` (1–30 s), so a running job always has a heartbeat younger than the
    redispatch delay and is never mistaken for one whose worker died.
    """
    return max(1, min(30, int(app.config["OUTBOX_REDISPATCH_AFTER_S"]) // 3))


def run_worker(app: Flask, queue_names: Sequence[str] | None = None, *, burst: bool = False) -> bool:
    """Process jobs from ``queue_names`` (default: all of ``QUEUES``, in that priority order).

    :param burst: run one redispatch pass, process what is queued, and return (for tests and cron-style use).
    :returns: whether any job was processed.
    """
    names = list(queue_names or app.config["QUEUES"])
    connection = redis_connection(app, for_worker=True)
    queues = [get_queue(name, app, connection=connection) for name in names]
    redispatcher: BaseProcess | None = None
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        if burst:
            periodic_pass(app, f"{os.uname().nodename}:{os.getpid()}")
            db.session.remove()
            db.engine.dispose()  # the pass used the database; the horses must not inherit its connections
        else:
            redispatcher = multiprocessing.get_context("fork").Process(
                target=run_periodically, args=(app, os.getpid()), name="referral-hub-redispatch", daemon=True
            )
            redispatcher.start()
    logger.info("worker: listening on %s%s", ", ".join(names), " (burst)" if burst else "")
    try:
        worker = Worker(queues, connection=connection, job_monitoring_interval=job_monitoring_interval(app))
        return worker.work(burst=burst, with_scheduler=True, logging_level=app.config["LOG_LEVEL"])
    finally:
        if redispatcher is not None:
            redispatcher.terminate()
            redispatcher.join(5)
