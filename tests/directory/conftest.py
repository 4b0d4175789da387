"""Fixtures of the directory-in-the-hub tests: a migrated hub with the HSDS tables, with and without the demo data.

The schema comes from the hub's Alembic migrations only (``0007_resource_directory`` builds the ``hsds_*`` tables
and the search/spatial extras, ``0008_directory_listing_check`` this feature's table), so the tests also prove the
migrations are complete.

Templates are built once per session (the demo directory takes a few seconds) and copied per test on SQLite. On
PostgreSQL (database ``referral_hub_i5web``) the demo directory is loaded once and every test starts by emptying
the hub's own tables, keeping the directory; tests that change directory rows use ``fresh_app`` (no demo data).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.web.hub_testing import POSTGRES_SERVER, make_app, migrate, service_missing

# One database per xdist worker: workers rebuild their schema at session start and must not share one.
_WORKER_SUFFIX = f"_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else ""
PG_DEMO_DB = "referral_hub_i5web" + _WORKER_SUFFIX
PG_FRESH_DB = "referral_hub_i5web_fresh" + _WORKER_SUFFIX
#: Tables that hold the directory itself (kept between PostgreSQL tests).
_KEEP = ("hsds_", "geocode_cache", "alembic_version")


def build_directory_schema(url: str, tmp: Path, *, demo: bool) -> None:
    """Migrate the hub (directory tables included), optionally load the demo directory."""
    migrate(url, tmp)
    app = make_app(url, tmp)
    with app.app_context():
        from referral_hub.extensions import db

        if demo:
            from referral_hub.directory.demo import load_demo_directory

            load_demo_directory(db.session)
        db.session.remove()
        db.engine.dispose()


def _sqlite_template(tmp_path_factory: pytest.TempPathFactory, name: str, *, demo: bool) -> Path:
    folder = tmp_path_factory.mktemp(name)
    path = folder / "template.db"
    build_directory_schema(f"sqlite:///{path}", folder, demo=demo)
    return path


@pytest.fixture(scope="session")
def fresh_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sqlite_template(tmp_path_factory, "dir-fresh", demo=False)


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sqlite_template(tmp_path_factory, "dir-demo", demo=True)


def _pg_database(name: str, tmp_path_factory: pytest.TempPathFactory, *, demo: bool) -> str:
    server = sa.engine.make_url(POSTGRES_SERVER)
    try:
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    build_directory_schema(url, tmp_path_factory.mktemp(f"pg-{name}"), demo=demo)
    return url


@pytest.fixture(scope="session")
def demo_postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _pg_database(PG_DEMO_DB, tmp_path_factory, demo=True)


@pytest.fixture(scope="session")
def fresh_postgres_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _pg_database(PG_FRESH_DB, tmp_path_factory, demo=False)


def empty_hub_tables(url: str, *, keep_directory: bool) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            if row[0] != "alembic_version" and not (keep_directory and row[0].startswith(_KEEP))
        ]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _app(url: str, tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    app = make_app(url, tmp_path, **overrides)
    yield app
    with app.app_context():
        from referral_hub.extensions import db

        db.session.remove()
        db.engine.dispose()


def _copy(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "hub.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A hub with the demo directory (county sample + NYC sites), on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return _copy(request.getfixturevalue("demo_sqlite_template"), tmp_path)
    url = request.getfixturevalue("demo_postgres_url")
    empty_hub_tables(url, keep_directory=True)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A hub with empty directory tables, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return _copy(request.getfixturevalue("fresh_sqlite_template"), tmp_path)
    url = request.getfixturevalue("fresh_postgres_url")
    empty_hub_tables(url, keep_directory=False)
    return url


@pytest.fixture
def demo_app(demo_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(demo_url, tmp_path)


@pytest.fixture
def demo_sqlite_app(demo_sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """SQLite only: HTTP behaviour that does not depend on the database engine."""
    yield from _app(_copy(demo_sqlite_template, tmp_path), tmp_path)


@pytest.fixture
def fresh_app(fresh_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(fresh_url, tmp_path)


@pytest.fixture
def fresh_sqlite_app(fresh_sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from _app(_copy(fresh_sqlite_template, tmp_path), tmp_path)
