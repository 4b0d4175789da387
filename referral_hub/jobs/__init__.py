"""Background jobs: transactional outbox, RQ dispatch, in-process fallback.

Public surface::

    from referral_hub.jobs import job, enqueue

    @job("referrals.notify_owner", queue="notifications")
    def notify_owner(session, task_pk: int) -> None: ...      # idempotent; never commits

    enqueue("referrals.notify_owner", task_pk=task.pk)       # in the caller's transaction; ids only

See ``README.md`` in this package for the life cycle of a job, the commands and the settings.
"""

from __future__ import annotations

import importlib

from flask import Flask

from referral_hub.config import ConfigError
from referral_hub.jobs.errors import JobArgumentError, JobError, UnknownJobError
from referral_hub.jobs.models import OutboxMessage, OutboxStatus
from referral_hub.jobs.outbox import enqueue, install_session_events
from referral_hub.jobs.registry import job, registered_jobs

#: Modules whose import registers the hub's own jobs and write hooks.
JOB_MODULES = ("referral_hub.referrals",)


def init_jobs(app: Flask) -> None:
    """Bind the job machinery to ``app``: session events, the hub's job modules, and a queue check.

    Extra job modules can be listed in the ``JOB_MODULES`` config key (tests and plugins).

    :raises ConfigError: when a registered job names a queue missing from ``REFERRAL_HUB_QUEUES``.
    """
    state = app.extensions.setdefault("referral_hub.jobs", {})
    state["redis_url"] = app.config.get("REDIS_URL")
    install_session_events()
    for module in (*JOB_MODULES, *app.config.get("JOB_MODULES", ())):
        importlib.import_module(module)
    missing = sorted({spec.queue for spec in registered_jobs().values()} - set(app.config["QUEUES"]))
    if missing:
        raise ConfigError(
            f"jobs use queue(s) {', '.join(missing)} missing from REFERRAL_HUB_QUEUES={','.join(app.config['QUEUES'])}"
        )


__all__ = [
    "JobArgumentError",
    "JobError",
    "OutboxMessage",
    "OutboxStatus",
    "UnknownJobError",
    "enqueue",
    "init_jobs",
    "job",
    "registered_jobs",
]
