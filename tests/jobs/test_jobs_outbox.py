"""The outbox without Redis: jobs are written with the caller's transaction and run in-process after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import func, insert, select, update

from referral_hub.db_types import utcnow
from referral_hub.extensions import db
from referral_hub.jobs import JobArgumentError, OutboxMessage, UnknownJobError, enqueue
from referral_hub.jobs.cli import jobs_group
from referral_hub.jobs.inprocess import run_due_messages, start_inprocess_retry_thread
from referral_hub.logging_setup import RequestIdFilter
from tests.jobs.conftest import wait_for
from tests.jobs.sample_jobs import PHI_LIKE_MESSAGE, attempt_times, effect_count


def _messages(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        db.session.expunge_all()
        return rows


def _effects(app: Flask, key: int) -> int:
    with app.app_context():
        return effect_count(db.session(), key)


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param({"patient_name": "Maria Lopez"}, id="a-name"),
        pytest.param({"patient_id": "Maria Lopez"}, id="free-text-under-an-id-name"),
        pytest.param({"answers": {"food": "often true"}}, id="a-dict"),
        pytest.param({"note_id": "x" * 65}, id="a-long-string"),
        pytest.param({"task_ids": [1, 2]}, id="a-list"),
        pytest.param({"score": 2.5}, id="a-float"),
        pytest.param({"urgent": True}, id="a-bool"),
        pytest.param({"task_pk": 2**63}, id="beyond-64-bits"),
    ],
)
def test_enqueue_refuses_arguments_that_are_not_ids(make_app: Callable[..., Flask], ids: dict[str, Any]) -> None:
    app = make_app()
    with app.app_context():
        with pytest.raises(JobArgumentError) as excinfo:
            enqueue("tests.write_effect", **ids)
        db.session.commit()
    assert "Maria" not in str(excinfo.value)  # the refusal names the argument, never echoes the value
    assert _messages(app) == []


def test_enqueue_refuses_unknown_jobs_and_arguments_the_handler_does_not_take(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        with pytest.raises(UnknownJobError):
            enqueue("tests.no_such_job", effect_key=1)
        with pytest.raises(JobArgumentError, match="do not fit the handler"):
            enqueue("tests.write_effect", effect_key=1, colour_id=3)
        with pytest.raises(JobArgumentError, match="do not fit the handler"):
            enqueue("tests.write_effect")
        db.session.commit()
    assert _messages(app) == []


def test_committed_job_runs_in_process_right_after_commit(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        message = enqueue("tests.write_effect", effect_key=7)
        db.session.flush()
        assert message.status == "pending"
        assert effect_count(db.session(), 7) == 0  # nothing runs before the commit
        db.session.commit()
    [row] = _messages(app)
    assert (row.name, row.args, row.status, row.attempts) == ("tests.write_effect", {"effect_key": 7}, "succeeded", 1)
    assert row.finished_at is not None
    assert _effects(app, 7) == 1


def test_rolled_back_job_never_runs(make_app: Callable[..., Flask], signal_dir: Any) -> None:
    app = make_app()
    with app.app_context():
        enqueue("tests.write_effect", effect_key=8)
        db.session.flush()
        db.session.rollback()
        enqueue("tests.write_effect", effect_key=9)  # a later transaction commits only its own job
        db.session.commit()
    assert [m.args for m in _messages(app)] == [{"effect_key": 9}]
    assert attempt_times(8) == []
    assert _effects(app, 8) == 0
    assert _effects(app, 9) == 1


def test_job_rolled_back_with_its_savepoint_is_not_run(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        savepoint = db.session.begin_nested()
        enqueue("tests.write_effect", effect_key=10)
        db.session.flush()
        savepoint.rollback()
        enqueue("tests.write_effect", effect_key=11)
        db.session.commit()
    assert [m.args for m in _messages(app)] == [{"effect_key": 11}]
    assert attempt_times(10) == []
    assert _effects(app, 11) == 1


def test_job_enqueued_in_a_released_savepoint_waits_for_the_outer_commit(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        with db.session.begin_nested():  # e.g. the store's update-as-create
            enqueue("tests.write_effect", effect_key=15)
        assert attempt_times(15) == []  # releasing the SAVEPOINT is not the commit
        db.session.rollback()
        enqueue("tests.write_effect", effect_key=16)
        with db.session.begin_nested():
            enqueue("tests.write_effect", effect_key=17)
        assert attempt_times(17) == []
        db.session.commit()
    assert sorted(m.args["effect_key"] for m in _messages(app)) == [16, 17]
    assert attempt_times(15) == []
    assert (_effects(app, 16), _effects(app, 17)) == (1, 1)


def test_running_a_succeeded_job_again_changes_nothing(make_app: Callable[..., Flask]) -> None:
    from referral_hub.jobs.runner import Outcome, execute_message

    app = make_app()
    with app.app_context():
        message = enqueue("tests.write_effect", effect_key=12)
        db.session.commit()
        message_id = message.id
    assert execute_message(app, message_id, raise_for_retry=True) is Outcome.SKIPPED
    assert len(attempt_times(12)) == 1
    assert _effects(app, 12) == 1


def test_a_handler_may_use_a_savepoint_but_may_not_commit(make_app: Callable[..., Flask]) -> None:
    app = make_app(JOB_MAX_RETRIES=0)
    with app.app_context():
        enqueue("tests.savepoint_inside", effect_key=13)
        enqueue("tests.commits_itself", effect_key=14)
        db.session.commit()
    by_name = {m.name: m for m in _messages(app)}
    assert by_name["tests.savepoint_inside"].status == "succeeded"
    assert _effects(app, 13) == 1
    refused = by_name["tests.commits_itself"]
    assert refused.status == "failed"
    assert refused.last_error.startswith("referral_hub.jobs.errors.HandlerCommitError: job handlers must not commit")
    assert _effects(app, 14) == 0


def test_failed_in_process_job_is_retried_by_the_thread_after_its_backoff(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context():
        enqueue("tests.fail_until", effect_key=20, succeed_on_attempt=2)
        db.session.commit()
    [row] = _messages(app)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "RuntimeError: message withheld (may contain PHI)"
    assert row.next_attempt_at - row.last_attempt_at == timedelta(seconds=1)  # JOB_RETRY_INTERVALS=1,2
    assert _effects(app, 20) == 0  # the failed attempt's write was rolled back

    thread = start_inprocess_retry_thread(app, poll_interval_s=0.1)
    assert thread is not None
    try:
        wait_for(lambda: _messages(app)[0].status == "succeeded", 5, "the retry thread to run the job")
    finally:
        thread.stop()
    [row] = _messages(app)
    assert row.attempts == 2
    first, second = attempt_times(20)
    assert second - first >= 0.9
    assert _effects(app, 20) == 1


def test_final_failure_is_recorded_without_phi_and_can_be_retried_by_an_operator(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(JOB_RETRY_INTERVALS=(0,))  # retries due at once: the test drives them
    with app.app_context():
        enqueue("tests.fail_until", effect_key=21, succeed_on_attempt=99)
        db.session.commit()
    assert run_due_messages(app, grace_s=0) == 1
    assert run_due_messages(app, grace_s=0) == 1
    assert run_due_messages(app, grace_s=0) == 0  # JOB_MAX_RETRIES=2: three attempts, then nothing is due
    [row] = _messages(app)
    assert (row.status, row.attempts) == ("failed", 3)
    assert PHI_LIKE_MESSAGE not in (row.last_error or "")

    runner = app.test_cli_runner()
    status = runner.invoke(jobs_group, ["status"])
    assert status.exit_code == 0, status.output
    counts = {line.split()[0]: int(line.split()[1]) for line in status.output.splitlines()}
    assert counts == {"pending": 0, "dispatched": 0, "succeeded": 0, "failed": 1}
    failed = runner.invoke(jobs_group, ["failed"])
    assert f"{row.id}\ttests.fail_until\tdefault\tattempts=3" in failed.output
    assert "Maria" not in failed.output

    with app.app_context():  # the operator fixed the cause; the next attempt succeeds
        db.session.execute(update(OutboxMessage).values(args={"effect_key": 21, "succeed_on_attempt": 4}))
        db.session.commit()
    retried = runner.invoke(jobs_group, ["retry", str(row.id)])
    assert retried.exit_code == 0, retried.output
    assert "retried 1 job(s)" in retried.output
    [row] = _messages(app)
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert _effects(app, 21) == 1


def test_job_left_pending_by_a_crash_after_commit_is_picked_up_by_dispatch(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    with app.app_context(), db.engine.begin() as conn:  # as left by a process that died between commit and run
        conn.execute(
            insert(OutboxMessage).values(
                name="tests.write_effect",
                queue="default",
                args={"effect_key": 22},
                status="pending",
                attempts=0,
                redispatches=0,
                created_at=utcnow() - timedelta(minutes=5),
            )
        )
    result = app.test_cli_runner().invoke(jobs_group, ["dispatch"])
    assert result.exit_code == 0, result.output
    assert "ran 1 due job(s) in-process" in result.output
    with app.app_context():
        assert db.session.execute(select(func.count()).where(OutboxMessage.status == "succeeded")).scalar_one() == 1
    assert _effects(app, 22) == 1


def test_job_keeps_the_id_of_the_request_that_enqueued_it_for_its_logs(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    caplog.set_level("INFO", logger="referral_hub.jobs.runner")
    caplog.handler.addFilter(RequestIdFilter())  # what the hub's log handler adds to every record
    logging.getLogger("referral_hub").addHandler(caplog.handler)  # the hub's loggers do not propagate
    try:
        with app.test_request_context("/fhir/Task", method="POST"):
            g.request_id = "req-0123456789"
            enqueue("tests.write_effect", effect_key=30)
            db.session.commit()
    finally:
        logging.getLogger("referral_hub").removeHandler(caplog.handler)
    [row] = _messages(app)
    assert row.request_id == "req-0123456789"
    [record] = [r for r in caplog.records if "succeeded" in r.getMessage()]
    assert record.request_id == "req-0123456789"  # type: ignore[attr-defined]


def test_public_api_is_exported() -> None:
    import referral_hub.jobs as jobs

    assert set(jobs.__all__) == {
        "JobArgumentError",
        "JobError",
        "OutboxMessage",
        "OutboxStatus",
        "UnknownJobError",
        "enqueue",
        "init_jobs",
        "job",
        "registered_jobs",
    }
    assert all(hasattr(jobs, name) for name in jobs.__all__)
