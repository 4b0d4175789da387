"""The outbox with Redis: RQ dispatch after commit, a Redis outage, a killed worker, retries with backoff.

Everything here is real: a private ``redis-server``, and RQ workers — ``SimpleWorker`` in this process where the
worker is not the subject, ``referral-hub worker`` subprocesses where it is. The subprocess tests run on
PostgreSQL only: Redis and separate worker processes are the multi-machine deployment, which runs on PostgreSQL
(architecture.md "Scale"), and each worker start costs seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import select

from referral_hub.extensions import db
from referral_hub.jobs import OutboxMessage, enqueue
from referral_hub.jobs.cli import jobs_group
from referral_hub.jobs.queues import queue_name
from tests.jobs.conftest import BACKENDS, PrivateRedis, run_jobs_here, wait_for, worker_log
from tests.jobs.sample_jobs import PHI_LIKE_MESSAGE, attempt_times, effect_count, signal_dir

pytestmark = pytest.mark.redis

POSTGRESQL_ONLY = pytest.mark.parametrize(
    "backend",
    [
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.slow,
                pytest.mark.skipif("postgresql" not in BACKENDS, reason="REFERRAL_HUB_TEST_BACKENDS excludes it"),
            ],
        )
    ],
    indirect=True,
)


def _message(app: Flask, message_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.execute(select(OutboxMessage).where(OutboxMessage.id == message_id)).scalar_one()
        db.session.expunge_all()
        return row


def _effects(app: Flask, key: int) -> int:
    with app.app_context():
        return effect_count(db.session(), key)


def _committed_effects(app: Flask, key: int) -> int:
    """Count effect rows visible to other connections, without opening a transaction.

    A session would not do on SQLite: the app opens every transaction with BEGIN IMMEDIATE, so a read would wait
    for the running job's transaction to end.
    """
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"SELECT count(*) FROM job_test_effect WHERE effect_key = {int(key)}")
            return cursor.fetchone()[0]
        finally:
            raw.close()


def _enqueue_and_commit(app: Flask, name: str, **ids: Any) -> int:
    with app.app_context():
        message = enqueue(name, **ids)
        db.session.commit()
        return message.id


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """End a worker that has done what the test waited for (no warm shutdown needed: the job is finished)."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def test_commit_enqueues_only_the_outbox_id_and_a_worker_runs_it(
    make_app: Callable[..., Flask], redis_server: PrivateRedis
) -> None:
    app = make_app(redis=True)
    message_id = _enqueue_and_commit(app, "tests.write_effect", effect_key=1)

    row = _message(app, message_id)
    assert row.status == "dispatched"
    assert row.dispatched_at is not None
    with redis_server.client() as client:
        queue = Queue(queue_name(app, "default"), connection=client)
        [job] = queue.get_jobs()
        # Redis keeps job arguments in clear text: the only argument is the row id (G6).
        assert (job.id, job.func_name, job.args, job.kwargs) == (
            f"outbox-{message_id}",
            "referral_hub.jobs.runner.run_outbox_message",
            (message_id,),
            {},
        )
        assert (job.retries_left, job.retry_intervals) == (2, [1, 2])  # JOB_MAX_RETRIES, JOB_RETRY_INTERVALS

    run_jobs_here(app, redis_server)
    row = _message(app, message_id)
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert _effects(app, 1) == 1


def test_rollback_enqueues_nothing(make_app: Callable[..., Flask], redis_server: PrivateRedis) -> None:
    app = make_app(redis=True)
    with app.app_context():
        enqueue("tests.write_effect", effect_key=2)
        db.session.flush()
        db.session.rollback()
        assert db.session.execute(select(OutboxMessage)).first() is None
    with redis_server.client() as client:
        assert Queue(queue_name(app, "default"), connection=client).count == 0
        assert client.keys("rq:job:*") == []


def test_redis_stopped_between_commit_and_enqueue_loses_no_job(
    make_app: Callable[..., Flask], redis_server: PrivateRedis
) -> None:
    app = make_app(redis=True)
    redis_server.stop()

    started = time.monotonic()
    message_id = _enqueue_and_commit(app, "tests.write_effect", effect_key=3)  # the commit itself succeeds
    assert time.monotonic() - started < 5  # and does not hang on the dead Redis
    assert _message(app, message_id).status == "pending"

    redis_server.start()
    result = app.test_cli_runner().invoke(jobs_group, ["dispatch"])
    assert result.exit_code == 0, result.output
    assert "enqueued 1 pending" in result.output
    assert _message(app, message_id).status == "dispatched"

    run_jobs_here(app, redis_server)
    row = _message(app, message_id)
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert _effects(app, 3) == 1


@POSTGRESQL_ONLY
def test_worker_killed_mid_job_reruns_it_and_the_effect_happens_once(
    make_app: Callable[..., Flask], start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    app = make_app(redis=True)
    worker = start_worker()
    message_id = _enqueue_and_commit(app, "tests.write_effect", effect_key=4, sleep_ms=1000)

    written = signal_dir() / "written-4"
    wait_for(lambda: written.exists() and written.read_text(), 20, "the job to write its effect")
    assert _committed_effects(app, 4) == 0  # written inside the job's transaction, not committed yet
    # The machine dies: the worker with its scheduler and redispatch loop, and the work horse running the job
    # (RQ puts each horse in a process group of its own).
    os.killpg(worker.pid, signal.SIGKILL)
    os.killpg(int(written.read_text()), signal.SIGKILL)
    worker.wait(10)
    killed_at = time.monotonic()

    assert _effects(app, 4) == 0
    row = _message(app, message_id)
    assert (row.status, row.attempts) == ("dispatched", 0)

    # A new worker's redispatch loop hands the job out again once OUTBOX_REDISPATCH_AFTER_S (2 s) has passed
    # without a heartbeat, and runs it.
    rerun = start_worker()
    wait_for(lambda: _message(app, message_id).status == "succeeded", 30, "the re-run")
    _stop(rerun)
    row = _message(app, message_id)
    assert (row.attempts, row.redispatches) == (1, 1)
    assert time.monotonic() - killed_at >= 2  # not before the redispatch delay
    assert len(attempt_times(4)) == 2  # it ran twice ...
    assert _effects(app, 4) == 1  # ... and its effect happened once
    assert "re-dispatched 1 stuck" in worker_log(rerun)


@POSTGRESQL_ONLY
def test_failed_job_is_retried_with_backoff_and_the_final_failure_recorded_without_phi(
    make_app: Callable[..., Flask], redis_server: PrivateRedis, start_worker: Callable[..., subprocess.Popen[bytes]]
) -> None:
    app = make_app(redis=True)
    worker = start_worker()
    recovers = _enqueue_and_commit(app, "tests.fail_until", effect_key=5, succeed_on_attempt=2)
    never = _enqueue_and_commit(app, "tests.fail_until", effect_key=6, succeed_on_attempt=99)

    wait_for(lambda: _message(app, never).status == "failed", 30, "the final failure")
    _stop(worker)

    row = _message(app, recovers)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert _effects(app, 5) == 1

    row = _message(app, never)
    assert (row.status, row.attempts) == ("failed", 3)  # JOB_MAX_RETRIES=2
    assert row.last_error == "RuntimeError: message withheld (may contain PHI)"
    assert _effects(app, 6) == 0
    first, second, third = attempt_times(6)
    # JOB_RETRY_INTERVALS=1,2; RQ's scheduler keeps due times in whole seconds, so a retry may come up to 1 s early.
    assert third - second > 1.0
    assert third - first >= 2.0

    # The PHI-like exception message reached neither Redis (RQ keeps failure tracebacks) nor the worker's log.
    assert "Maria" in PHI_LIKE_MESSAGE
    with redis_server.client() as client:
        for key in client.scan_iter():
            kind = client.type(key)
            values = client.hvals(key) if kind == b"hash" else [client.get(key)] if kind == b"string" else []
            assert not any(b"Maria" in (v or b"") for v in values), key
    assert "Maria" not in worker_log(worker)
    assert "attempt 1 failed, retrying: RuntimeError: message withheld" in worker_log(worker)
