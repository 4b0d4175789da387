"""SQLite transactions: requests declared read-only (the HSDS API) do not take the write lock; everything else
takes it at BEGIN; a read-only request that writes after all still writes."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from referral_hub.extensions import db
from referral_hub.sqlite_locking import reads_only
from resource_directory.geocoding.cache import GeocodeCacheEntry, cache_store
from tests.conftest import make_test_app

INSERT_CACHE_ROW = (
    "INSERT INTO geocode_cache (provider, query_hash, query_text, created_at)"
    " VALUES ('other', 'h', 'q', '2026-01-01 00:00:00')"
)


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, path)
    return path


@pytest.fixture
def sqlite_app(sqlite_file: Path) -> Iterator[Flask]:
    # A short busy timeout: a request that waits for the write lock fails in half a second instead of 30.
    app = make_test_app(f"sqlite:///{sqlite_file}", SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.5}})

    @app.get("/probe/read-then-write")
    def read_then_write() -> str:
        reads_only()
        before = db.session.scalar(select(func.count()).select_from(GeocodeCacheEntry))
        _write_from_another_connection(sqlite_file)  # commits after this request's snapshot began
        cache_store(db.session, "test", "1 Main St", latitude=1.0, longitude=2.0, precision=None, display_address=None)
        db.session.commit()
        return str(before)

    @app.get("/probe/read-then-other-writer")
    def read_then_other_writer() -> str:
        db.session.scalar(select(func.count()).select_from(GeocodeCacheEntry))
        try:
            _write_from_another_connection(sqlite_file, timeout=0.1)
        except sqlite3.OperationalError as error:
            return str(error)
        return "written"

    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _write_from_another_connection(path: Path, timeout: float = 5.0) -> None:
    other = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        other.execute(INSERT_CACHE_ROW)
    finally:
        other.close()


def test_hsds_search_answers_while_another_connection_holds_the_write_lock(
    sqlite_app: Flask, sqlite_file: Path
) -> None:
    writer = sqlite3.connect(sqlite_file, isolation_level=None)
    writer.execute("INSERT INTO hsds_taxonomy_term (id, code, name, description) VALUES ('t-food', 'food', 'Food', '')")
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(INSERT_CACHE_ROW)
        response = sqlite_app.test_client().get(
            "/hsds/services?category=t-food&lat=37.48&lng=-122.23&radius=8&language=es"  # a WITH statement
        )
    finally:
        writer.close()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["total_items"] == 0


def test_a_read_only_request_that_writes_after_another_writer_committed_still_writes(
    sqlite_app: Flask, sqlite_file: Path
) -> None:
    response = sqlite_app.test_client().get("/probe/read-then-write")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_data(as_text=True) == "0"
    with sqlite3.connect(sqlite_file) as check:
        providers = sorted(row[0] for row in check.execute("SELECT provider FROM geocode_cache"))
    assert providers == ["other", "test"]


def test_other_requests_hold_the_write_lock_from_their_first_statement(sqlite_app: Flask) -> None:
    response = sqlite_app.test_client().get("/probe/read-then-other-writer")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "database is locked"
