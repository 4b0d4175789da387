"""Declarative column mappings: the generic engine on a small feed, and the shipped NYC mapping."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resource_directory.column_mapping import MappingError, load_mapping
from resource_directory.importer import import_path
from resource_directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
)
from resource_directory.taxonomy import terms_for_category

NYC_MAPPING = Path(__file__).resolve().parents[2] / "resource_directory" / "mappings" / "nyc-city-funded-sites.yaml"

MAPPING = """
format: hsds-column-mapping/1
name: test-211
sources:
  sites: {file: sites.csv}
  agencies: {file: agencies.csv, key: agency_code}
rows: sites
joins:
  agency: {source: agencies, column: agency}
value_maps:
  langs: {spanish: es, english: en}
objects:
  - name: org
    table: organization
    id: "agency/{agency}"
    fields: {name: "{agency.agency_name}", description: "Agency {agency.agency_name}"}
  - name: svc
    table: service
    id: "site/{site}"
    fields:
      organization_id: {ref: org}
      name: "{program}"
      status: {value: "{open}", map: {"yes": active, "no": inactive}}
      minimum_age: "{min_age}"
  - name: loc
    table: location
    when: "{lat}"
    id: "site/{site}"
    fields: {location_type: physical, latitude: "{lat}", longitude: "{lon}", name: "{program}"}
  - table: service_at_location
    when: "{lat}"
    id: "site/{site}"
    fields: {service_id: {ref: svc}, location_id: {ref: loc}}
  - table: language
    for_each: {value: "{languages}", split: ";"}
    id: "site/{site}/lang/{item}"
    fields: {service_id: {ref: svc}, name: {value: "{item}", transform: title}, code: {value: "{item}", map: langs}}
"""


def _feed(tmp_path: Path, sites: str, mapping: str = MAPPING) -> Path:
    (tmp_path / "sites.csv").write_text(textwrap.dedent(sites).lstrip(), encoding="utf-8")
    (tmp_path / "agencies.csv").write_text("agency_code,agency_name\nA1,Helping Hands\n", encoding="utf-8")
    (tmp_path / "map.yaml").write_text(mapping, encoding="utf-8")
    return tmp_path


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_mapping_builds_objects_with_joins_constants_lists_and_value_maps(session: Session, tmp_path: Path) -> None:
    feed = _feed(
        tmp_path,
        """
        site,agency,program,open,min_age,lat,lon,languages
        1,A1,Pantry,yes,18,40.81,-73.92,spanish; english
        2,A1,Shelter,no,,,,english
        """,
    )
    report = import_path(session, feed, mapping=feed / "map.yaml")
    assert report.ok, report.summary()
    assert dict(report.created) == {
        "organization": 1,  # both rows name agency A1: one organization
        "service": 2,
        "location": 1,  # row 2 has no coordinates: no location, no service_at_location
        "service_at_location": 1,
        "language": 3,
    }
    org = session.scalars(select(Organization)).one()
    assert (org.name, org.description) == ("Helping Hands", "Agency Helping Hands")
    pantry = session.scalars(select(Service).where(Service.name == "Pantry")).one()
    assert (pantry.status, pantry.minimum_age, pantry.organization_id) == ("active", 18, org.id)
    assert session.scalars(select(Service.status).where(Service.name == "Shelter")).one() == "inactive"
    assert sorted(session.scalars(select(Language.code).where(Language.service_id == pantry.id))) == ["en", "es"]
    assert session.scalars(select(Location.geocode_source)).one() == "data"
    again = import_path(session, feed, mapping=feed / "map.yaml")
    assert again.total("unchanged") == 8  # stable uuid5 ids: a re-import updates in place


def test_bad_rows_in_a_mapped_feed_are_reported_with_their_line(session: Session, snapshot, tmp_path: Path) -> None:
    feed = _feed(
        tmp_path,
        """
        site,agency,program,open,min_age,lat,lon,languages
        1,A1,Pantry,yes,18,40.81,-73.92,
        2,A1,,maybe,-3,40.8,,
        """,
    )
    report = import_path(session, feed, mapping=feed / "map.yaml")
    assert not report.written
    by_field = {(i.table, i.field): i for i in report.refused}
    assert by_field[("service", "name")].row == 3
    assert by_field[("service", "name")].reason == "required field is missing"
    assert "'maybe' is not one of" in by_field[("service", "status")].reason
    assert by_field[("location", "longitude")].reason == "latitude and longitude go together"
    assert all(not rows for rows in snapshot(session).values())


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("table: organisation", "table must be an HSDS object"),
        ("fields: {nom: x}", "has no field(s) ['nom']"),
        ("fields: {organization_id: {ref: nowhere}}", "unknown object name 'nowhere'"),
        ("fields: {name: {value: x, transform: shout}}", "unknown transform 'shout'"),
    ],
)
def test_mapping_file_errors_are_caught_before_reading_data(tmp_path: Path, broken: str, message: str) -> None:
    key = broken.split(":", 1)[0]
    obj = {"table": "table: service", "fields": "fields: {name: x}"}
    obj[key] = broken
    text = f"""
format: hsds-column-mapping/1
sources: {{s: {{file: s.csv}}}}
rows: s
objects:
  - id: "x/{{id}}"
    {obj["table"]}
    {obj["fields"]}
"""
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_mapping(tmp_path / "m.yaml")


@pytest.mark.slow
def test_nyc_sites_load_located_with_languages_and_need_terms_within_a_minute(session: Session) -> None:
    started = time.perf_counter()
    report = import_path(session, NYC_MAPPING)
    elapsed = time.perf_counter() - started
    print(f"\nNYC import ({session.get_bind().dialect.name}): {elapsed:.1f}s, {report.total('created')} rows")
    assert report.ok, report.summary()
    assert elapsed < 60
    located = session.scalar(select(func.count()).select_from(Location).where(Location.geocode_source == "data"))
    assert located == 5412  # every site with coordinates in the data; ~5,400 as the dataset README says
    assert _count(session, ServiceAtLocation) == 5412
    assert _count(session, Address) == 5412
    bronx_spanish = session.scalar(
        select(func.count())
        .select_from(Language)
        .join(Location, Location.id == Language.location_id)
        .join(Address, Address.location_id == Location.id)
        .where(Language.code == "es", Address.city == "Bronx")
    )
    assert (bronx_spanish or 0) > 20
    food_terms = {t.id for t in terms_for_category(session, "food-insecurity")}
    food_services = session.scalar(
        select(func.count(func.distinct(Attribute.link_id))).where(Attribute.taxonomy_term_id.in_(food_terms))
    )
    assert (food_services or 0) > 10
    again = import_path(session, NYC_MAPPING)
    assert again.total("unchanged") == report.total("created")
    assert again.total("updated") == again.total("created") == 0
