"""Command-line interface of the job machinery, attached to ``referral-hub`` by ``referral_hub.cli``.

``referral-hub worker [--queues q1,q2] [--burst]`` runs RQ workers; ``referral-hub jobs dispatch|status|failed|
retry`` inspect and repair the outbox. Commands are thin: they call the modules of this package and print ids,
names, counts and sanitised errors — never job data.
"""

from __future__ import annotations

import importlib
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from redis.exceptions import RedisError
from sqlalchemy import func, select, update

from referral_hub.extensions import db
from referral_hub.jobs.dispatch import dispatch_pending
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.queues import redis_configured
from referral_hub.jobs.redispatch import redispatch


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's documented escape hatch


@click.command("worker")
@click.option("--queues", default=None, metavar="Q1,Q2", help="Queues to serve, in priority order (default: all).")
@click.option("--burst", is_flag=True, help="Redispatch once, process what is queued, then exit.")
@click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE first, for jobs defined outside the hub (plugins, tests).",
)
@with_appcontext
def worker_command(queues: str | None, burst: bool, imports: tuple[str, ...]) -> None:
    """Run an RQ worker with the scheduler (retries) and the outbox redispatch loop."""
    from referral_hub.jobs.worker import run_worker

    app = _app()
    if not redis_configured(app):
        raise click.ClickException(
            "REFERRAL_HUB_REDIS_URL is not set: jobs run in-process in `referral-hub serve`; no worker is needed"
        )
    for module in imports:
        importlib.import_module(module)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    unknown = sorted(set(names or ()) - set(app.config["QUEUES"]))
    if unknown:
        raise click.BadParameter(
            f"not configured: {', '.join(unknown)} (REFERRAL_HUB_QUEUES={','.join(app.config['QUEUES'])})",
            param_hint="--queues",
        )
    run_worker(app, names, burst=burst)


jobs_group = AppGroup("jobs", help="Background jobs: the transactional outbox.")


@jobs_group.command("dispatch")
@click.option(
    "--stuck-after",
    type=click.IntRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Re-dispatch jobs unfinished this long after dispatch (default: OUTBOX_REDISPATCH_AFTER_S).",
)
def dispatch_command(stuck_after: int | None) -> None:
    """Hand out pending jobs now (after a Redis outage); without Redis, run due jobs in this process."""
    try:
        report = redispatch(_app(), stuck_after_s=stuck_after)
    except RedisError as exc:
        raise click.ClickException(f"Redis is not reachable ({type(exc).__name__}); jobs stay pending") from None
    if report.ran_in_process or not redis_configured(_app()):
        click.echo(f"ran {report.ran_in_process} due job(s) in-process")
        return
    click.echo(
        f"enqueued {report.enqueued_pending} pending, re-dispatched {report.redispatched} stuck, "
        f"gave up on {report.given_up}"
    )


@jobs_group.command("status")
def status_command() -> None:
    """Count jobs by status, with the age of the oldest unfinished one."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at)).group_by(OutboxMessage.status)
    ).all()
    counts = {status: (count, oldest) for status, count, oldest in rows}
    for status in OutboxStatus:
        count, oldest = counts.get(status.value, (0, None))
        suffix = f"  (oldest {_age(oldest)})" if oldest and status.value in ("pending", "dispatched") else ""
        click.echo(f"{status.value:<11} {count:>8}{suffix}")


@jobs_group.command("failed")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def failed_command(limit: int) -> None:
    """List jobs that used all their retries, newest first."""
    messages = db.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED.value)
        .order_by(OutboxMessage.finished_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).scalars()
    shown = 0
    for m in messages:
        finished = m.finished_at.isoformat(timespec="seconds") if m.finished_at else "-"
        click.echo(f"{m.id}\t{m.name}\t{m.queue}\tattempts={m.attempts}\t{finished}\t{m.last_error or ''}")
        shown += 1
    if not shown:
        click.echo("no failed jobs")


@jobs_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-failed", is_flag=True, help="Retry every failed job.")
def retry_command(ids: tuple[int, ...], all_failed: bool) -> None:
    """Give failed jobs a fresh set of attempts (after fixing the cause) and hand them out."""
    if not ids and not all_failed:
        raise click.UsageError("give job ids or --all-failed")
    where = [OutboxMessage.status == OutboxStatus.FAILED.value]
    if ids:
        where.append(OutboxMessage.id.in_(ids))
    retried = list(
        db.session.execute(
            update(OutboxMessage)
            .where(*where)
            .values(
                status=OutboxStatus.PENDING.value,
                attempts=0,
                redispatches=0,
                next_attempt_at=None,
                finished_at=None,
                dispatched_at=None,
            )
            .returning(OutboxMessage.id)
        ).scalars()
    )
    db.session.commit()
    if retried:
        dispatch_pending(_app(), sorted(retried))
    click.echo(f"retried {len(retried)} job(s)")


def _age(moment: datetime) -> str:
    from referral_hub.db_types import utcnow

    seconds = int((utcnow() - moment).total_seconds())
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds}s"
