"""Fixtures of the screening UI tests: a migrated hub on SQLite, the web shell's seeded accounts, a signed-in client.

Reuses the web shell's helpers (``tests/web/hub_testing.py``): the schema comes from the Alembic migrations, CSRF
is on and users sign in through the real login form. The screening pages do not depend on the database engine
(every query goes through the FHIR store and the policy module, both tested on PostgreSQL elsewhere), so these
tests run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.hub_testing import Seeded, login, make_app, migrate, seed, sqlite_copy


@pytest.fixture(scope="session")
def screening_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("screening-sqlite") / "template.db"
    migrate(f"sqlite:///{path}", tmp_path_factory.mktemp("screening-migrate"))
    return path


@pytest.fixture
def app(screening_sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    application = make_app(sqlite_copy(screening_sqlite_template, tmp_path), tmp_path)
    yield application
    with application.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    return seed(app)


@pytest.fixture
def staff(app: Flask, seeded: Seeded) -> FlaskClient:
    """A client signed in as clinic staff of the seeded clinic (which created the ``own`` patient)."""
    client = app.test_client()
    login(app, client, seeded.accounts["clinic_staff"])
    return client
