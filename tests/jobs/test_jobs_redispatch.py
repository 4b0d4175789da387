"""Redispatch decisions, one by one, against a real Redis (no worker needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import Connection, insert, text

from referral_hub.config import ConfigError
from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs import OutboxMessage, enqueue
from referral_hub.jobs.cli import jobs_group, worker_command
from referral_hub.jobs.redispatch import redispatch
from tests.jobs.conftest import PrivateRedis

pytestmark = pytest.mark.redis


def _dispatched_row(app: Flask, *, age_s: int, redispatches: int = 0) -> int:
    """A row handed out ``age_s`` seconds ago whose RQ job vanished (Redis flushed, or a crash before enqueue)."""
    with app.app_context(), db.engine.begin() as conn:
        return conn.execute(
            insert(OutboxMessage)
            .values(
                name="tests.write_effect",
                queue="default",
                args={"effect_key": 1},
                status="dispatched",
                attempts=0,
                redispatches=redispatches,
                created_at=utcnow() - timedelta(seconds=age_s),
                dispatched_at=utcnow() - timedelta(seconds=age_s),
            )
            .returning(OutboxMessage.id)
        ).scalar_one()


def _row(app: Flask, message_id: int) -> OutboxMessage:
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        db.session.expunge_all()
        assert row is not None
        return row


def _queued_ids(app: Flask, redis_server: PrivateRedis) -> list[str]:
    with redis_server.client() as client:
        return Queue("hub-jobs-test:default", connection=client).get_job_ids()


def test_dispatched_job_missing_from_redis_is_handed_out_again_after_the_delay(
    make_app: Callable[..., Flask], redis_server: PrivateRedis
) -> None:
    app = make_app(redis=True)
    fresh = _dispatched_row(app, age_s=0)
    stale = _dispatched_row(app, age_s=10)

    result = app.test_cli_runner().invoke(jobs_group, ["dispatch"])
    assert result.exit_code == 0, result.output
    assert "re-dispatched 1 stuck" in result.output
    assert _queued_ids(app, redis_server) == [f"outbox-{stale}"]
    assert (_row(app, stale).redispatches, _row(app, fresh).redispatches) == (1, 0)


def test_job_still_waiting_in_its_queue_is_not_handed_out_twice(
    make_app: Callable[..., Flask], redis_server: PrivateRedis
) -> None:
    app = make_app(redis=True)
    with app.app_context():
        message = enqueue("tests.write_effect", effect_key=1)
        db.session.commit()
        message_id = message.id
    report = redispatch(app, stuck_after_s=0)  # however old: its RQ job is queued, a worker will get to it
    assert report.redispatched == 0
    assert _queued_ids(app, redis_server) == [f"outbox-{message_id}"]


def test_job_that_keeps_losing_its_worker_is_given_up(
    make_app: Callable[..., Flask], redis_server: PrivateRedis
) -> None:
    app = make_app(redis=True)
    message_id = _dispatched_row(app, age_s=10, redispatches=2)  # JOB_MAX_RETRIES=2: the third hand-out was the last

    assert redispatch(app).given_up == 1
    row = _row(app, message_id)
    assert (row.status, row.last_error) == ("failed", "WorkerLost: handed out 3 times without finishing")
    assert _queued_ids(app, redis_server) == []


@contextmanager
def _row_locked(app: Flask, message_id: int) -> Iterator[Connection]:
    """Hold the row lock a running job holds (PostgreSQL)."""
    with app.app_context(), db.engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT id FROM job_outbox WHERE id = :id FOR UPDATE"), {"id": message_id})
        yield conn


# Row locks exist on PostgreSQL only; on SQLite the worker's heartbeat decides (tested separately).
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_job_running_right_now_is_not_handed_out_again(
    make_app: Callable[..., Flask], redis_server: PrivateRedis, backend: str
) -> None:
    app = make_app(redis=True)
    message_id = _dispatched_row(app, age_s=10)
    with _row_locked(app, message_id):
        assert redispatch(app).redispatched == 0
    assert redispatch(app).redispatched == 1  # the lock is gone with its worker


def test_dispatch_without_redis_reachable_says_so(make_app: Callable[..., Flask], redis_server: PrivateRedis) -> None:
    app = make_app(redis=True)
    redis_server.stop()
    result = app.test_cli_runner().invoke(jobs_group, ["dispatch"])
    assert result.exit_code == 1
    assert "Redis is not reachable (ConnectionError); jobs stay pending" in result.output


def test_worker_refuses_to_start_without_redis(make_app: Callable[..., Flask]) -> None:
    result = make_app().test_cli_runner().invoke(worker_command, ["--burst"])
    assert result.exit_code == 1
    assert "REFERRAL_HUB_REDIS_URL is not set" in result.output


def test_app_refuses_to_start_when_a_job_queue_is_not_configured(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match="jobs use queue\\(s\\) default missing from REFERRAL_HUB_QUEUES"):
        make_app(QUEUES=("notifications",))
