"""Background jobs: transactional outbox, RQ dispatch, in-process fallback."""

from __future__ import annotations

from flask import Flask


def init_jobs(app: Flask) -> None:
    """Bind the job machinery to ``app`` (queues from config; in-process when no Redis is configured)."""
    app.extensions["referral_hub.jobs"] = {"redis_url": app.config.get("REDIS_URL")}
