"""Shared fixtures: an app on SQLite and on PostgreSQL, schema built from the Alembic migrations.

Services: PostgreSQL, Redis and Chromium are real. On a laptop without them the tests that need them skip and
say why; with ``REFERRAL_HUB_REQUIRE_SERVICES=1`` (set by CI) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
IG_EXAMPLES = SHARED / "fhir" / "sdoh-cc-examples"
REQUIRE_SERVICES = os.environ.get("REFERRAL_HUB_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("REFERRAL_HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REFERRAL_HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = [b for b in os.environ.get("REFERRAL_HUB_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

# The dev server logs full URLs (query strings carry search terms); tests have no use for them.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def service_missing(service: str, reason: str) -> None:
    """Skip (laptop) or fail (CI) a test whose real service is not there."""
    message = f"{service} is not available: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (REFERRAL_HUB_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def _worker_suffix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"_{worker}" if worker else ""


def _postgres_database_url() -> str:
    """A database of this test process's own (one per xdist worker), created from the configured one."""
    base = sa.engine.make_url(POSTGRES_URL)
    suffix = _worker_suffix()
    if not suffix:
        return POSTGRES_URL
    name = f"{base.database}{suffix}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from referral_hub import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url}, environ={"REFERRAL_HUB_ENV": "testing"})
    with app.app_context():
        upgrade()
        from referral_hub.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (faster than migrating per test)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, emptied and migrated once per session."""
    try:
        url = _postgres_database_url()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    _migrate(url)
    return url


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


def make_test_app(database_url: str, **overrides: Any) -> Flask:
    from referral_hub import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://localhost",
        "FHIR_BASE_URL": "http://localhost/fhir",
        "REDIS_URL": None,
    }
    config.update(overrides)
    return create_app(config, environ={"REFERRAL_HUB_ENV": "testing"})


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    application = make_test_app(database_url)
    yield application
    with application.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served over real HTTP on loopback, in a thread (``threaded=True`` like a WSGI server)."""

    def __init__(self, app: Flask) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app.config["BASE_URL"] = self.url
        app.config["FHIR_BASE_URL"] = self.url + "/fhir"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def fhir(self) -> str:
        return self.url + "/fhir"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
