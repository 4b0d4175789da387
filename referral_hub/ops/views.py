"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer).

Load balancers route traffic on ``/readyz``; orchestrators restart on ``/healthz``. Keeping them apart means a
database outage takes nodes out of rotation instead of restarting them in a loop.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from referral_hub.extensions import db

logger = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any driver error means "not ready"; details go to the log, not the caller
        logger.exception("readiness: database check failed")
        checks["database"] = "error"
    finally:
        db.session.remove()
    if current_app.config.get("REDIS_URL"):
        from referral_hub.jobs.queues import redis_connection

        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except Exception:
            logger.exception("readiness: redis check failed")
            checks["redis"] = "error"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
