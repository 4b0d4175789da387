"""Redis connections and RQ queues, built from the app's config (never at import time, G1).

Queue names are prefixed with ``QUEUE_PREFIX`` so several deployments can share one Redis (CKAN does the same).
Two kinds of connection exist because their timeouts must differ: the web side (enqueue, readiness) must fail
fast when Redis is down so a request never hangs after its commit, while a worker blocks on ``BLPOP`` for
minutes and would be cut off by a short socket timeout.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry

#: Seconds to wait for a TCP connection to Redis, on both sides.
CONNECT_TIMEOUT_S = 2.0
#: Seconds to wait for a Redis reply on the web side (enqueue, readiness).
WEB_SOCKET_TIMEOUT_S = 5.0

_STATE_KEY = "referral_hub.jobs"


def _state(app: Flask) -> dict[str, Any]:
    return app.extensions.setdefault(_STATE_KEY, {})


def redis_configured(app: Flask | None = None) -> bool:
    """Whether jobs go through Redis (``REFERRAL_HUB_REDIS_URL`` set) rather than running in-process."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return bool(app.config.get("REDIS_URL"))


def redis_connection(app: Flask | None = None, *, for_worker: bool = False) -> Redis:
    """The app's Redis connection (a pooled client, created on first use).

    :param for_worker: a client without a read timeout, for RQ workers' blocking dequeue.
    :raises RuntimeError: when no Redis is configured.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REFERRAL_HUB_REDIS_URL is not set: jobs run in-process, there is no Redis")
    key = "redis_worker" if for_worker else "redis_web"
    state = _state(app)
    if key not in state:
        if for_worker:
            state[key] = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=30)
        else:
            state[key] = Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=WEB_SOCKET_TIMEOUT_S
            )
    return state[key]


def queue_name(app: Flask, name: str) -> str:
    """The Redis-side name of configured queue ``name``."""
    return f"{app.config['QUEUE_PREFIX']}:{name}"


def get_queue(name: str, app: Flask | None = None, *, connection: Redis | None = None) -> Queue:
    """The RQ queue for configured queue ``name``.

    :raises KeyError: when ``name`` is not one of ``QUEUES``.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if name not in app.config["QUEUES"]:
        raise KeyError(f"queue {name!r} is not configured (REFERRAL_HUB_QUEUES={','.join(app.config['QUEUES'])})")
    return Queue(queue_name(app, name), connection=connection or redis_connection(app))


def retry_intervals(app: Flask) -> list[int]:
    """One delay per retry: ``JOB_RETRY_INTERVALS`` padded with its last value to ``JOB_MAX_RETRIES`` entries.

    RQ indexes a shorter list from its start in an unexpected way (it repeats the *first* value), so the list is
    always given at full length; the outbox's own ``next_attempt_at`` uses the same list.
    """
    configured = list(app.config["JOB_RETRY_INTERVALS"]) or [0]
    count = int(app.config["JOB_MAX_RETRIES"])
    return [configured[min(i, len(configured) - 1)] for i in range(count)]


def retry_delay(app: Flask, failures: int) -> int:
    """Seconds to wait after the ``failures``-th failed attempt (1-based)."""
    intervals = retry_intervals(app)
    if not intervals:
        return 0
    return intervals[min(failures - 1, len(intervals) - 1)]


def max_attempts(app: Flask) -> int:
    """The first attempt plus ``JOB_MAX_RETRIES`` retries."""
    return int(app.config["JOB_MAX_RETRIES"]) + 1


def rq_retry(app: Flask, failures_so_far: int) -> Retry | None:
    """RQ ``Retry`` for a row that already failed ``failures_so_far`` times (None when no retry is left)."""
    remaining = max_attempts(app) - failures_so_far - 1
    if remaining < 1:
        return None
    intervals = retry_intervals(app)[failures_so_far:]
    return Retry(max=remaining, interval=intervals or [0])
