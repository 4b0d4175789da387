"""Round trip of the official HSDS 3.0 JSON examples (issue 5 acceptance, JSON serialization)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from resource_directory.exporter import export_dir
from resource_directory.importer import import_path

EXAMPLES = [
    "service_full.json",
    "organization_full.json",
    "service_at_location_full.json",
    "location.json",
    "taxonomy.json",
    "taxonomy_term.json",
    "service_list.json",
    "service_at_location_list.json",
    "organization_list.json",
    "taxonomy_list.json",
    "taxonomy_term_list.json",
]


@pytest.fixture
def examples_json(shared_dir: Path) -> Path:
    return shared_dir / "hsds-samples" / "openreferral-hsds-3.0-examples" / "json"


@pytest.mark.parametrize("example", EXAMPLES)
def test_json_example_round_trips_to_identical_records(
    session: Session, make_session, snapshot, empty_directory, examples_json: Path, tmp_path: Path, example: str
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(examples_json / example, source / example)
    first = import_path(session, source, check_coordinates=False)
    assert first.ok, first.summary()
    before = snapshot(session)
    assert sum(len(rows) for rows in before.values()) == first.total("created") > 0

    out = tmp_path / "out"
    export_dir(session, out, format="json")
    engine = session.get_bind()
    session.close()
    empty_directory(engine)
    other = make_session()
    again = import_path(other, out, check_coordinates=False)
    assert again.ok, again.summary()
    assert snapshot(other) == before
    # ... and importing the same export once more changes nothing.
    third = import_path(other, out, check_coordinates=False)
    assert third.total("unchanged") == first.total("created")
    assert third.total("updated") == third.total("created") == 0


def test_service_full_export_nests_the_service_view(session: Session, examples_json: Path, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(examples_json / "service_full.json", source / "service_full.json")
    import_path(session, source, check_coordinates=False)
    export_dir(session, tmp_path / "out", format="json")
    services = json.loads((tmp_path / "out" / "services.json").read_text(encoding="utf-8"))
    service = services[0]
    assert service["organization"]["name"] == "Example Organization Inc."
    location = service["service_at_locations"][0]["location"]
    assert location["addresses"][0]["city"] == "MyCity"
    assert service["attributes"][0]["taxonomy_term"]["taxonomy_detail"]["id"] == "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
    assert service["schedules"][0]["timezone"] == 3  # HSDS types timezone as a number
    assert "referral_status" not in service
    assert all(v is not None for v in service.values())  # absent values are omitted, never null


def test_conflicting_copies_of_one_object_are_refused_and_nothing_is_written(
    session: Session, snapshot, examples_json: Path, tmp_path: Path
) -> None:
    # The upstream location.json disagrees with the location embedded in service_full.json
    # (external_identifier '///cheer.parent.mole' vs '10092008082'): one id, two truths.
    for name in ("service_full.json", "location.json"):
        shutil.copy(examples_json / name, tmp_path / name)
    report = import_path(session, tmp_path, check_coordinates=False)
    assert not report.written
    conflicts = [i for i in report.refused if "conflicting values" in i.reason]
    assert {(i.table, i.field) for i in conflicts} >= {
        ("location", "external_identifier"),
        ("schedule", "opens_at"),
    }
    assert all(i.file == "location.json" and i.path for i in conflicts)
    assert all(not rows for rows in snapshot(session).values())
