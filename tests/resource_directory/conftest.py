"""Database fixtures for the resource directory tests (shared by the directory engineers; kept generic).

``engine`` is parametrized over SQLite (in memory) and PostgreSQL 15 (database ``hub_directory_test``, override
with ``HUB_DIRECTORY_TEST_DATABASE_URL``). Each test gets an empty schema built with
``Base.metadata.create_all`` followed by ``resource_directory.ddl.create_extras`` when that module exists.
On PostgreSQL every test process works in its own schema (``search_path=<schema>,public``), so parallel
runs by different engineers do not trample each other; contrib extensions stay in ``public``.

PostgreSQL tests skip when the server is unreachable, unless ``REFERRAL_HUB_REQUIRE_SERVICES=1`` (then fail).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from resource_directory.importer import hsds_columns
from resource_directory.models import HSDS_MODELS, Base

PG_URL = os.environ.get(
    "HUB_DIRECTORY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/hub_directory_test"
)
REQUIRE_SERVICES = os.environ.get("REFERRAL_HUB_REQUIRE_SERVICES") == "1"
PG_EXTENSIONS = ("cube", "earthdistance", "pg_trgm", "unaccent")
SHARED = Path(__file__).resolve().parents[3] / "shared"


def _create_extras(connection) -> None:  # type: ignore[no-untyped-def]
    try:
        ddl = importlib.import_module("resource_directory.ddl")
    except ModuleNotFoundError:
        return
    ddl.create_extras(connection)


def _ensure_pg_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema() -> str:
    return f"t_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_engine(pg_schema: str) -> Iterator[Engine]:
    try:
        _ensure_pg_database(PG_URL)
        engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={pg_schema},public"})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL required (REFERRAL_HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    with engine.begin() as conn:
        _drop_stale_schemas(conn)
        # Contrib extensions live in ``public`` (visible from every per-process schema). Installing them here
        # means an extension can never end up inside a per-test schema and vanish with it.
        for ext in PG_EXTENSIONS:
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext} SCHEMA public"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{pg_schema}" CASCADE'))
    engine.dispose()


def _drop_stale_schemas(conn) -> None:  # type: ignore[no-untyped-def]
    """Drop per-process schemas left behind by killed test runs (their process no longer exists)."""
    for (name,) in conn.execute(text(r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9]+$'")):
        pid = int(name[2:])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        except PermissionError:
            pass


def _sqlite_engine(url: str = "sqlite://") -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _fk_on(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Enforce foreign keys like PostgreSQL does, so both engines behave the same.
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine with an empty directory schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        eng = _sqlite_engine(f"sqlite:///{tmp_path / 'directory.db'}")
        with eng.begin() as conn:
            Base.metadata.create_all(conn)
            _create_extras(conn)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("pg_engine")
    schema = request.getfixturevalue("pg_schema")
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        Base.metadata.create_all(conn)
        _create_extras(conn)
    yield eng


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


def _empty_directory(engine: Engine) -> None:
    """Delete every HSDS row (children first), keeping the schema and any extras built on it."""
    with engine.begin() as conn:
        for model in reversed(list(HSDS_MODELS.values())):
            conn.execute(model.__table__.delete())  # type: ignore[attr-defined]


@pytest.fixture
def empty_directory():  # type: ignore[no-untyped-def]
    """Function that empties the directory tables of an engine (close open sessions first)."""
    return _empty_directory


@pytest.fixture
def make_session(engine: Engine):  # type: ignore[no-untyped-def]
    """Factory for extra sessions on the same database (e.g. to check what another transaction sees)."""
    sessions: list[Session] = []

    def _make() -> Session:
        s = Session(engine)
        sessions.append(s)
        return s

    yield _make
    for s in sessions:
        s.close()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip(f"shared reference data not found at {SHARED}")
    return SHARED


def table_snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every HSDS table's rows (HSDS columns only), sorted by id, for exact round-trip comparisons."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, model in HSDS_MODELS.items():
        t = model.__table__  # type: ignore[attr-defined]
        cols = [t.c[c] for c in hsds_columns(table)]
        out[table] = [tuple(r) for r in session.execute(select(*cols).order_by(t.c.id)).all()]
    return out


@pytest.fixture
def snapshot():  # type: ignore[no-untyped-def]
    return table_snapshot
