"""Bulk import paths on SQLite and PostgreSQL: a generated feed through ``import_path`` leaves the search extras
exactly as a full rebuild would, keeps the triggers in place, and a late refusal still writes nothing.

Why these tests: the importer writes with COPY / executemany on a worker thread inside a SAVEPOINT, suspends
SQLite's per-row search triggers and refreshes set-wise, and relies on PostgreSQL's statement-level triggers
(``resource_directory.import_write``). A mistake there shows up as stale search rows or missing triggers,
not as an import error.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from resource_directory.ddl import refresh_search_index, sqlite_row_trigger_names
from resource_directory.importer import import_path
from tests.bench.gen_directory import write_tabular_package

SEARCH_ROWS = (
    "SELECT service_id, sal_id, location_id, latitude, longitude, lat_band, name_key, min_age, max_age, is_free,"
    " referral_status, lang_codes, lang_names FROM {table} {extra} ORDER BY service_id, sal_id {order}"
)


def _search_rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Both search tables and the text-search documents, language lists as sets (their order may differ)."""

    def normalised(rows: Any) -> list[tuple[Any, ...]]:
        return [
            (*r[:-2], frozenset(r[-2].strip("|").split("|")) - {""}, frozenset(r[-1].strip("|").split("|")) - {""})
            for r in rows
        ]

    location = session.execute(text(SEARCH_ROWS.format(table="hsds_search_location", extra="", order=""))).all()
    term = session.execute(
        text(
            SEARCH_ROWS.replace("SELECT ", "SELECT k.term_id, ").format(
                table="hsds_search_term x JOIN hsds_search_term_key k ON k.term_key = x.term_key",
                extra="",
                order=", k.term_id",
            )
        )
    ).all()
    if session.get_bind().dialect.name == "sqlite":
        documents = session.execute(
            text("SELECT service_id, name, body FROM hsds_service_fts ORDER BY service_id")
        ).all()
    else:
        documents = session.execute(
            text("SELECT service_id, document::text FROM hsds_service_search ORDER BY service_id")
        ).all()
    return {"location": normalised(location), "term": normalised(term), "documents": [tuple(r) for r in documents]}


def _triggers(session: Session) -> set[str]:
    if session.get_bind().dialect.name == "sqlite":
        names = ", ".join(f"'{n}'" for n in sqlite_row_trigger_names())
        return set(
            session.scalars(text(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"))
        )
    return set(
        session.scalars(
            text(
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = to_regnamespace(current_schema()) AND NOT t.tgisinternal"
            )
        )
    )


def test_generated_feed_imports_whole_with_search_rows_equal_to_a_rebuild(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    written = write_tabular_package(tmp_path / "feed", 400, seed=5)
    triggers_before = _triggers(session)
    session.commit()

    report = import_path(session, tmp_path / "feed")

    assert report.written
    assert not report.refused
    assert report.total("created") == written.rows
    assert {"validate", "references", "write", "commit"} <= set(report.timings)
    assert _triggers(session) == triggers_before
    imported = _search_rows(session)
    assert len(imported["location"]) > 300  # active services at their sites
    assert imported["term"]
    assert imported["documents"]
    refresh_search_index(session)
    session.commit()
    assert _search_rows(session) == imported


def test_reimport_after_edits_refreshes_only_through_the_import(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    feed = tmp_path / "feed"
    write_tabular_package(feed, 200, seed=6)
    assert import_path(session, feed).written
    # The steward's next export: one service renamed, one service's Spanish now French.
    services = list(csv.DictReader((feed / "services.csv").open(encoding="utf-8")))
    services[0]["name"] = "Renamed Pantry"
    _write_csv(feed / "services.csv", services)
    languages = list(csv.DictReader((feed / "languages.csv").open(encoding="utf-8")))
    changed = next(row for row in languages if row["service_id"] and row["code"] == "es")
    changed.update(code="fr", name="French")
    _write_csv(feed / "languages.csv", languages)

    report = import_path(session, feed)

    assert report.written
    assert dict(report.updated) == {"service": 1, "language": 1}
    assert report.metadata_rows == 3  # name; code and name
    after = _search_rows(session)
    refresh_search_index(session)
    session.commit()
    assert _search_rows(session) == after
    assert any("renam" in str(doc).lower() for doc in after["documents"])  # stemmed in a tsvector
    french = [row for row in after["location"] if row[0] == changed["service_id"]]
    assert french
    assert all("fr" in row[-2] and "es" not in row[-2] for row in french)


def test_refusal_in_a_late_object_rolls_back_the_objects_already_streamed(session: Session, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    write_tabular_package(feed, 150, seed=7)
    schedules = list(csv.DictReader((feed / "schedules.csv").open(encoding="utf-8")))
    schedules[-1]["opens_at"] = "9am"  # schedules are written after services, locations and search inputs
    _write_csv(feed / "schedules.csv", schedules)
    triggers_before = _triggers(session)
    session.commit()

    report = import_path(session, feed)

    assert not report.written
    assert [(i.table, i.field) for i in report.refused] == [("schedule", "opens_at")]
    assert report.total("created") == 0
    assert report.metadata_rows == 0
    assert session.scalar(text("SELECT count(*) FROM hsds_service")) == 0
    assert session.scalar(text("SELECT count(*) FROM hsds_search_location")) == 0
    assert _triggers(session) == triggers_before


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
