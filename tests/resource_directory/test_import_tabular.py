"""Per-row validation, one-transaction semantics and change logging of the HSDS tabular importer."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.importer import import_path
from resource_directory.models import Location, MetadataEntry, Service

ORG = "11111111-1111-4111-8111-111111111111"
SVC = "22222222-2222-4222-8222-222222222222"
LOC = "33333333-3333-4333-8333-333333333333"
SAL = "44444444-4444-4444-8444-444444444444"
MISSING_ORG = "99999999-9999-4999-8999-999999999999"


def _package(tmp_path: Path, **overrides: list[dict[str, str]]) -> Path:
    tables: dict[str, list[dict[str, str]]] = {
        "organizations.csv": [{"id": ORG, "name": "Food Bank", "description": "Feeds people"}],
        "services.csv": [
            {
                "id": SVC,
                "organization_id": ORG,
                "name": "Pantry",
                "status": "active",
                "assured_date": "2024-05-01",
                "minimum_age": "18",
            }
        ],
        "locations.csv": [
            {"id": LOC, "location_type": "physical", "name": "Main St", "latitude": "37.48", "longitude": "-122.21"}
        ],
        "service_at_location.csv": [{"id": SAL, "service_id": SVC, "location_id": LOC}],
    }
    tables.update({k.replace("__", "."): v for k, v in overrides.items()})
    pkg = tmp_path / "pkg"
    pkg.mkdir(exist_ok=True)
    for name, rows in tables.items():
        header: list[str] = []
        for row in rows:
            header += [k for k in row if k not in header]
        with (pkg / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, header)
            writer.writeheader()
            writer.writerows(rows)
    return pkg


def _nothing_written(session: Session, snapshot) -> bool:  # type: ignore[no-untyped-def]
    return all(not rows for rows in snapshot(session).values())


def _service(**changes: str) -> list[dict[str, str]]:
    row = {"id": SVC, "organization_id": ORG, "name": "Pantry", "status": "active"}
    row.update(changes)
    return [row]


def test_valid_package_is_created_with_data_coordinates(session: Session, tmp_path: Path) -> None:
    report = import_path(session, _package(tmp_path))
    assert report.ok
    assert report.total("created") == 4
    loc = session.get(Location, LOC)
    assert loc is not None
    assert (loc.latitude, loc.longitude, loc.geocode_source) == (37.48, -122.21, "data")
    svc = session.get(Service, SVC)
    assert svc is not None
    assert svc.assured_date == dt.date(2024, 5, 1)
    assert svc.referral_status == "accepting"


@pytest.mark.parametrize(
    ("service_row", "field", "reason_part"),
    [
        (_service(name=""), "name", "required field is missing"),
        (_service(organization_id="not-a-uuid"), "organization_id", "not a UUID"),
        (_service(organization_id=MISSING_ORG), "organization_id", f"no organization with id {MISSING_ORG}"),
        (_service(status="open"), "status", "'open' is not one of active, inactive, defunct, temporarily closed"),
        (_service(assured_date="15/01/2024"), "assured_date", "expected a date YYYY-MM-DD"),
        (_service(assured_date="2024-02-30"), "assured_date", "not a real calendar date"),
        (_service(minimum_age="eighteen"), "minimum_age", "expected a number"),
    ],
    ids=["missing-required", "malformed-uuid", "unknown-reference", "bad-enum", "bad-date-format", "bad-date", "nan"],
)
def test_bad_service_row_is_reported_with_row_field_reason_and_nothing_is_written(
    session: Session, snapshot, tmp_path: Path, service_row: list[dict[str, str]], field: str, reason_part: str
) -> None:
    report = import_path(session, _package(tmp_path, services__csv=service_row))
    assert not report.written
    issue = next(i for i in report.refused if i.table == "service")
    assert (issue.file, issue.row, issue.record_id, issue.field) == ("services.csv", 2, SVC, field)
    assert reason_part in issue.reason
    # The service_at_location that needs the refused service is refused too (never half-written).
    assert any(i.table == "service_at_location" and "which was refused" in i.reason for i in report.refused)
    assert _nothing_written(session, snapshot)


def test_duplicate_ids_are_refused_on_every_row(session: Session, snapshot, tmp_path: Path) -> None:
    orgs = [
        {"id": ORG, "name": "Food Bank", "description": "Feeds people"},
        {"id": ORG, "name": "Food Bank (copy)", "description": "Feeds people"},
    ]
    report = import_path(session, _package(tmp_path, organizations__csv=orgs))
    dups = [i for i in report.refused if i.table == "organization"]
    assert [(i.row, i.field) for i in dups] == [(2, "id"), (3, "id")]
    assert "duplicate id (also at organizations.csv:3)" in dups[0].reason
    assert _nothing_written(session, snapshot)


def test_coordinates_out_of_range_are_refused(session: Session, snapshot, tmp_path: Path) -> None:
    locs = [{"id": LOC, "location_type": "physical", "latitude": "137.5", "longitude": "-122.2"}]
    report = import_path(session, _package(tmp_path, locations__csv=locs))
    assert [(i.table, i.field, i.reason) for i in report.refused if i.table == "location"] == [
        ("location", "latitude", "coordinates out of range (WGS84): 137.5, -122.2")
    ]
    assert _nothing_written(session, snapshot)


def test_bad_schedule_is_refused(session: Session, snapshot, tmp_path: Path) -> None:
    sched = [{"id": "55555555-5555-4555-8555-555555555555", "service_id": SVC, "byday": "MON", "opens_at": "9am"}]
    report = import_path(session, _package(tmp_path, schedules__csv=sched))
    assert {(i.field, i.row) for i in report.refused} == {("byday", 2), ("opens_at", 2)}
    assert _nothing_written(session, snapshot)


def test_malformed_csv_row_is_refused(session: Session, snapshot, tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    with (pkg / "organizations.csv").open("a", encoding="utf-8") as fh:
        fh.write("66666666-6666-4666-8666-666666666666,Extra,desc,unexpected cell\n")
    report = import_path(session, pkg)
    assert [(i.row, i.reason) for i in report.refused] == [(3, "row has 4 cells but the header has 3")]
    assert _nothing_written(session, snapshot)


def test_partial_mode_writes_good_rows_and_cascades_refusals(session: Session, tmp_path: Path) -> None:
    orgs = [{"id": ORG, "name": "", "description": "Feeds people"}]
    report = import_path(session, _package(tmp_path, organizations__csv=orgs), strict=False)
    assert report.written
    assert {i.table for i in report.refused} == {"organization", "service", "service_at_location"}
    assert report.refused_rows == 3
    assert dict(report.created) == {"location": 1}
    assert session.scalars(select(Service)).all() == []


def test_reimport_updates_by_id_and_logs_each_changed_field(session: Session, tmp_path: Path) -> None:
    import_path(session, _package(tmp_path))
    changed = _package(tmp_path, services__csv=_service(name="Weekly Pantry", minimum_age="21"))
    report = import_path(session, changed, updated_by="steward@example.org")
    assert dict(report.updated) == {"service": 1}
    assert report.total("created") == 0
    assert len(session.scalars(select(Service)).all()) == 1
    log = {m.field_name: m for m in session.scalars(select(MetadataEntry).where(MetadataEntry.resource_id == SVC))}
    assert set(log) == {"name", "minimum_age", "assured_date"}
    assert (log["name"].previous_value, log["name"].replacement_value) == ("Pantry", "Weekly Pantry")
    assert (log["minimum_age"].previous_value, log["minimum_age"].replacement_value) == ("18", "21")
    assert (log["assured_date"].previous_value, log["assured_date"].replacement_value) == ("2024-05-01", "")
    entry = log["name"]
    assert (entry.resource_type, entry.last_action_type, entry.updated_by) == (
        "service",
        "update",
        "steward@example.org",
    )
    assert entry.last_action_date == dt.datetime.now(dt.UTC).date()


def test_hub_geocoded_coordinates_survive_a_feed_without_coordinates(session: Session, tmp_path: Path) -> None:
    locs = [{"id": LOC, "location_type": "physical", "name": "Main St"}]
    import_path(session, _package(tmp_path, locations__csv=locs))
    loc = session.get(Location, LOC)
    assert loc is not None
    assert loc.geocode_source is None
    loc.latitude, loc.longitude, loc.geocode_source = 37.5, -122.2, "zip-centroid"
    session.commit()
    report = import_path(session, _package(tmp_path, locations__csv=locs))
    assert report.total("updated") == 0
    session.expire_all()
    loc = session.get(Location, LOC)
    assert loc is not None
    assert (loc.latitude, loc.longitude, loc.geocode_source) == (37.5, -122.2, "zip-centroid")


def test_referral_status_is_not_touched_by_reimport(session: Session, tmp_path: Path) -> None:
    import_path(session, _package(tmp_path))
    svc = session.get(Service, SVC)
    assert svc is not None
    svc.referral_status = "waitlist"
    session.commit()
    import_path(session, _package(tmp_path, services__csv=_service(name="Renamed")))
    session.expire_all()
    svc = session.get(Service, SVC)
    assert svc is not None
    assert (svc.name, svc.referral_status) == ("Renamed", "waitlist")


def test_attribute_with_unknown_taxonomy_term_is_refused(session: Session, snapshot, tmp_path: Path) -> None:
    attrs = [
        {
            "id": "77777777-7777-4777-8777-777777777777",
            "link_id": SVC,
            "link_entity": "service",
            "link_type": "service_type",
            "taxonomy_term_id": MISSING_ORG,
        }
    ]
    report = import_path(session, _package(tmp_path, attributes__csv=attrs))
    assert [(i.file, i.row, i.field, i.reason) for i in report.refused] == [
        ("attributes.csv", 2, "taxonomy_term_id", f"no taxonomy_term with id {MISSING_ORG}")
    ]
    assert _nothing_written(session, snapshot)


def test_text_with_nul_characters_is_refused_on_every_database(session: Session, snapshot, tmp_path: Path) -> None:
    report = import_path(session, _package(tmp_path, services__csv=_service(description="bad\x00byte")))
    assert [(i.field, i.reason) for i in report.refused if i.table == "service"] == [
        ("description", "contains a NUL character")
    ]
    assert _nothing_written(session, snapshot)
