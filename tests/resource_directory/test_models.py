"""The model contract other modules rely on (hsds_ tables, UUID keys, hub columns, constraints)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resource_directory.importer import hsds_columns
from resource_directory.models import (
    HSDS_MODELS,
    Base,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
)

ORG = "11111111-1111-4111-8111-111111111111"
SVC = "22222222-2222-4222-8222-222222222222"


def test_every_hsds_object_has_a_prefixed_table_with_a_string_uuid_key() -> None:
    expected = {
        "organization", "program", "service", "location", "service_at_location", "address", "phone", "contact",
        "schedule", "language", "service_area", "cost_option", "required_document", "funding", "accessibility",
        "attribute", "taxonomy", "taxonomy_term", "metadata", "organization_identifier", "url",
        "service_capacity", "unit", "meta_table_description",
    }  # fmt: skip
    assert set(HSDS_MODELS) == expected
    for name, model in HSDS_MODELS.items():
        table = model.__table__  # type: ignore[attr-defined]
        assert table.name == f"hsds_{name}"
        assert [c.name for c in table.primary_key.columns] == ["id"]
        assert table.c.id.type.length == 36
    # Other modules may add their own tables to the same metadata (e.g. a geocode cache), never hsds_ ones.
    assert {t for t in Base.metadata.tables if t.startswith("hsds_")} == {f"hsds_{n}" for n in expected}


def test_hub_columns_exist_but_are_not_hsds_fields() -> None:
    assert {"geocode_source", "geocode_precision", "geocoded_at"} <= set(Location.__table__.c.keys())
    assert "referral_status" in Service.__table__.c
    assert not {"geocode_source", "geocode_precision", "geocoded_at"} & set(hsds_columns("location"))
    assert "referral_status" not in hsds_columns("service")
    for field in ("assured_date", "last_modified", "status", "minimum_age", "maximum_age"):
        assert field in hsds_columns("service")


def test_constraint_names_follow_the_naming_convention(engine) -> None:  # type: ignore[no-untyped-def]
    insp = inspect(engine)
    fks = {fk["name"] for fk in insp.get_foreign_keys("hsds_service")}
    assert "fk_hsds_service_organization_id_hsds_organization" in fks
    assert insp.get_pk_constraint("hsds_service")["name"] in ("pk_hsds_service", None)  # SQLite does not name PKs


def test_referral_status_defaults_to_accepting_and_rejects_unknown_values(session: Session) -> None:
    session.add(Organization(id=ORG, name="Org", description="d"))
    session.add(Service(id=SVC, organization_id=ORG, name="S", status="active"))
    session.commit()
    svc = session.get(Service, SVC)
    assert svc is not None
    assert svc.referral_status == "accepting"
    svc.referral_status = "closed-forever"
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_service_requires_an_existing_organization_on_both_databases(session: Session) -> None:
    session.add(Service(id=SVC, organization_id=ORG, name="S", status="active"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_deleting_a_service_cascades_to_its_service_at_locations(session: Session) -> None:
    loc = "33333333-3333-4333-8333-333333333333"
    session.add_all(
        [
            Organization(id=ORG, name="Org", description="d"),
            Service(id=SVC, organization_id=ORG, name="S", status="active"),
            Location(id=loc, location_type="physical", latitude=40.8, longitude=-73.9, geocode_source="data"),
        ]
    )
    session.flush()
    session.add(ServiceAtLocation(id="44444444-4444-4444-8444-444444444444", service_id=SVC, location_id=loc))
    session.commit()
    session.execute(Service.__table__.delete())
    session.commit()
    assert session.scalars(select(ServiceAtLocation)).all() == []


def test_datetimes_are_stored_as_naive_utc(session: Session) -> None:
    stamp = dt.datetime(2024, 5, 1, 12, 30, 15, 123000)
    session.add(Organization(id=ORG, name="Org", description="d"))
    session.add(Service(id=SVC, organization_id=ORG, name="S", status="active", last_modified=stamp))
    session.commit()
    session.expire_all()
    svc = session.get(Service, SVC)
    assert svc is not None
    assert svc.last_modified == stamp
    assert svc.last_modified.tzinfo is None
