"""Job handlers registered under stable names.

The outbox stores the *name*, not an import path, so a handler can move between modules without stranding rows
that are already queued. A handler is a plain function ``fn(session, **ids)``: it does its work with the given
session and must not commit — the runner commits once, together with marking the outbox row succeeded (G7).

RQ's own ``@job`` decorator is not used: it needs a Redis connection at import time (G7), and jobs must also run
without Redis.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from referral_hub.jobs.errors import JobArgumentError, UnknownJobError

Handler = Callable[..., Any]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class JobSpec:
    """A registered handler."""

    name: str
    queue: str
    func: Handler
    #: RQ job timeout in seconds (None: RQ's default, 180 s).
    timeout: int | None = None

    def check_arguments(self, ids: Mapping[str, object]) -> None:
        """Fail at enqueue time, not in the worker, when the handler cannot accept these keyword arguments."""
        try:
            inspect.signature(self.func).bind(None, **ids)
        except TypeError as exc:
            raise JobArgumentError(f"job {self.name!r}: arguments do not fit the handler: {exc}") from None


_registry: dict[str, JobSpec] = {}


def job(name: str, *, queue: str = "default", timeout: int | None = None) -> Callable[[Handler], Handler]:
    """Register ``fn(session, **ids)`` as the handler of job ``name`` on ``queue`` (one of ``QUEUES``).

    :param name: dotted, lower-case and stable (``"referrals.record_task_version"``); rows store it.
    :raises ValueError: on a malformed name, or a name already taken by a different function.
    """
    if not _NAME_RE.match(name):
        raise ValueError(f"job name {name!r} must be dotted lower-case words, e.g. 'referrals.notify_owner'")

    def register(fn: Handler) -> Handler:
        existing = _registry.get(name)
        if existing is not None and _qualified(existing.func) != _qualified(fn):
            raise ValueError(f"job name {name!r} is already registered by {_qualified(existing.func)}")
        _registry[name] = JobSpec(name=name, queue=queue, func=fn, timeout=timeout)
        return fn

    return register


def get_job(name: str) -> JobSpec:
    """The handler registered under ``name``.

    :raises UnknownJobError: when nothing is registered under it.
    """
    try:
        return _registry[name]
    except KeyError:
        raise UnknownJobError(f"no job is registered under {name!r}") from None


def registered_jobs() -> Mapping[str, JobSpec]:
    """A read-only view of the registry (name → spec)."""
    return dict(_registry)


def run_handler(spec: JobSpec, session: Session, ids: Mapping[str, Any]) -> None:
    """Call the handler (kept here so the calling convention lives next to its definition)."""
    spec.func(session, **ids)


def _qualified(fn: Handler) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
