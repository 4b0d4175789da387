"""The application factory.

Nothing connects to a database or Redis at import time; everything is bound here from settings, so tests,
the CLI, gunicorn workers and RQ workers each build their own app with their own configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from flask import Flask

from referral_hub import sqlite_locking
from referral_hub.config import load_settings
from referral_hub.extensions import db, migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_app(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build a configured hub application.

    :param overrides: Flask config keys applied after the environment (tests use it).
    :param environ: environment to read ``REFERRAL_HUB_*`` settings from (default ``os.environ``).
    """
    app = Flask("referral_hub", instance_relative_config=True)
    settings = load_settings(Path(app.instance_path), environ)
    app.config.update(settings.to_flask())
    if overrides:
        app.config.update(overrides)
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Writers from several threads/processes (gunicorn workers, the job worker) wait instead of failing.
        options.setdefault("connect_args", {"timeout": 30})
    else:
        # No pre-ping (a round trip per request); a dropped connection is invalidated on its first error and the
        # pool reconnects, and connections are recycled before server-side idle timeouts.
        options.setdefault("pool_recycle", 1800)
    options.setdefault("json_serializer", _json_dumps)
    options.setdefault("json_deserializer", orjson.loads)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    from referral_hub.logging_setup import configure_logging

    configure_logging(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite_locking.install(app, db.engine)

    from referral_hub.fhir import batch
    from referral_hub.jobs import init_jobs

    batch.install()

    init_jobs(app)

    from referral_hub import screening

    screening.init_app(app)

    from referral_hub import audit, auth, policy  # issue 3: API auth, compartments, audit log and Provenance

    policy.init_app(app)
    auth.init_app(app)
    audit.init_app(app)

    from referral_hub.commands import register_commands
    from referral_hub.fhir.views import bp as fhir_bp
    from referral_hub.ops.views import bp as ops_bp

    register_commands(app)
    app.register_blueprint(ops_bp)
    app.register_blueprint(fhir_bp, url_prefix="/fhir")
    from referral_hub import web  # UI shell, login, translations; after the API blueprints (error-page hand-off)

    web.init_app(app)
    from referral_hub import directory  # issue 5: /hsds API, /directory staff pages, listing checks

    directory.init_app(app)
    return app


__all__ = ["create_app"]
