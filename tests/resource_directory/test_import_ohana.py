"""The real San Mateo County Ohana sample through the documented Ohana -> HSDS 3.0 mapping (§B.6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resource_directory.importer import import_path
from resource_directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    OrganizationIdentifier,
    Schedule,
    Service,
    ServiceAtLocation,
)
from resource_directory.ohana import normalize_time, parse_age_range
from resource_directory.taxonomy import load_open_eligibility, terms_for_category


@pytest.fixture
def ohana_dir(shared_dir: Path) -> Path:
    return shared_dir / "hsds-samples" / "ohana-api-san-mateo-sample" / "sample-csv"


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_ohana_row_is_loaded_and_unmapped_columns_are_reported(session: Session, ohana_dir: Path) -> None:
    report = import_path(session, ohana_dir)  # format detected from regular_schedules.csv / mail_addresses.csv
    assert report.format == "ohana"
    assert report.ok, report.summary()
    assert report.created["organization"] == 8
    assert report.created["location"] == 22
    assert report.created["service"] == 23
    assert report.created["service_at_location"] == 23
    assert report.created["phone"] == 54
    assert report.created["contact"] == 31
    assert report.created["address"] == 21 + 21
    assert report.created["schedule"] == 11 + 4
    assert {w.file for w in report.warnings} == {"organizations.csv", "locations.csv", "services.csv", "phones.csv"}
    assert any("admin_emails" in w.reason for w in report.warnings)
    assert _count(session, OrganizationIdentifier) == 8


def test_coordinates_come_from_the_data(session: Session, ohana_dir: Path) -> None:
    import_path(session, ohana_dir, format="ohana")
    located = session.scalars(select(Location).where(Location.latitude.is_not(None))).all()
    assert len(located) == 21
    assert {loc.geocode_source for loc in located} == {"data"}
    fair_oaks = session.scalars(select(Location).where(Location.name == "Fair Oaks Adult Activity Center")).one()
    assert (fair_oaks.latitude, fair_oaks.longitude) == (37.477227, -122.213221)
    virtual = session.scalars(select(Location).where(Location.latitude.is_(None))).one()
    assert (virtual.location_type, virtual.geocode_source) == ("virtual", None)


def test_eligibility_ages_languages_and_schedules_are_mapped(session: Session, ohana_dir: Path) -> None:
    import_path(session, ohana_dir, format="ohana")
    rehab = session.scalars(select(Service).where(Service.name == "Adult Rehabilitation Center")).one()
    assert (rehab.minimum_age, rehab.maximum_age) == (21, 60)
    fair_oaks = session.scalars(select(Service).where(Service.name == "Fair Oaks Adult Activity Center")).one()
    assert fair_oaks.minimum_age == 55
    assert "Audience: Older adults" in (fair_oaks.eligibility_description or "")
    codes = set(session.scalars(select(Language.code)))
    assert {"es", "tl", "cmn", "yue", "vi", "ko"} <= codes
    times = {(s.byday, s.opens_at, s.closes_at) for s in session.scalars(select(Schedule))}
    assert ("MO", "14:00:00", "16:00:00") in times  # "4:00 PM" normalised (seconds added on import)
    assert ("WE", "10:00:00", "15:00:00") in times  # "3pm" normalised
    postal = session.scalars(select(Address).where(Address.address_type == "postal")).all()
    assert len(postal) == 21


def test_ohana_taxonomy_codes_link_to_open_eligibility_terms(session: Session, ohana_dir: Path) -> None:
    load_open_eligibility(session)
    report = import_path(session, ohana_dir, format="ohana")
    assert report.ok
    assert report.created.get("taxonomy_term", 0) == 0  # already loaded: the feed's copies are unchanged
    attrs = session.scalars(select(Attribute)).all()
    assert len(attrs) == 6
    transit = {t.id for t in terms_for_category(session, "transportation-insecurity")}
    assert any(a.taxonomy_term_id in transit for a in attrs)  # Ohana "105 Transit" -> OE 2014 "1105 Transit"


def test_reimporting_the_county_sample_changes_nothing(session: Session, ohana_dir: Path) -> None:
    first = import_path(session, ohana_dir, format="ohana")
    again = import_path(session, ohana_dir, format="ohana")
    assert again.total("unchanged") == first.total("created")
    assert again.total("created") == again.total("updated") == again.metadata_rows == 0
    assert _count(session, ServiceAtLocation) == 23


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Age 55 or over for most programs, age 60 or over for lunch program", (55, None)),
        ("Age 21-60, detoxed, physically able", (21, 60)),
        ("Children under 18 with a parent", (None, 17)),
        ("Ages 16 to 24", (16, 24)),
        ("Low-income families", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_age_range(text: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_age_range(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("08:00", "08:00"),
        ("4:00 PM", "16:00"),
        ("3pm", "15:00"),
        ("12am", "00:00"),
        ("12:30 pm", "12:30"),
        ("noon", "noon"),
    ],
)
def test_normalize_time(raw: str, expected: str) -> None:
    assert normalize_time(raw) == expected
