"""Fixtures shared by the web shell and accounts tests: a migrated hub (SQLite, PostgreSQL), an account per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.hub_testing import Seeded, make_app, migrate, postgres_url, seed, sqlite_copy, truncate_postgres


@pytest.fixture(scope="session")
def hub_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub-sqlite") / "template.db"
    migrate(f"sqlite:///{path}", tmp_path_factory.mktemp("migrate"))
    return path


@pytest.fixture(scope="session")
def hub_postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return postgres_url(tmp_path_factory)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_copy(request.getfixturevalue("hub_sqlite_template"), tmp_path)
    url = request.getfixturevalue("hub_postgres_url")
    truncate_postgres(url)
    return url


@pytest.fixture
def hub_sqlite_url(hub_sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only, for tests about HTTP behaviour that does not depend on the database engine."""
    return sqlite_copy(hub_sqlite_template, tmp_path)


def _app(url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(url, tmp_path)
    yield app
    with app.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def hub_app(hub_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(hub_database_url, tmp_path)


@pytest.fixture
def sqlite_app(hub_sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(hub_sqlite_url, tmp_path)


@pytest.fixture
def seeded(hub_app: Flask) -> Seeded:
    return seed(hub_app)


@pytest.fixture
def sqlite_seeded(sqlite_app: Flask) -> Seeded:
    return seed(sqlite_app)


@pytest.fixture
def client(sqlite_app: Flask) -> FlaskClient:
    return sqlite_app.test_client()
