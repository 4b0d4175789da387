"""The directory at ``/fhir`` (issue 5, scope 6): HSDS → HealthcareService / Location / Organization projections,
kept in step with the directory, read-only through FHIR, searchable by the standard parameters and by distance
(``location.near``) through the directory's one search service."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.support import mint_token, program_identity, register_test_client
from tests.directory.directory_testing import FIVE_MILES_KM, ZIP_94063, add_listing

SHARED = Path(__file__).resolve().parents[3] / "shared"
HSDS_JSON = SHARED / "hsds-samples" / "openreferral-hsds-3.0-examples" / "json"
DISTANCE_URL = "http://hl7.org/fhir/StructureDefinition/location-distance"
SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


# ---- mapping of the official HSDS examples ----------------------------------------------------------------------
def _valid_r4(body: dict[str, Any]) -> None:
    """The store's validator accepts it: R4 structure (fhir.resources R4B models), bindings and IG rules."""
    from referral_hub.fhir.validation import validate_resource

    validate_resource(body, None, workflow=False)


def test_official_hsds_examples_map_to_valid_r4_resources() -> None:
    from referral_hub.directory import fhir_mapping

    org_doc = json.loads((HSDS_JSON / "organization_full.json").read_text())
    organization = fhir_mapping.organization(org_doc)
    _valid_r4(organization)
    assert organization["name"] == org_doc["name"]
    assert organization["id"] == org_doc["id"]
    service_doc = {**org_doc["services"][0], "organization_id": org_doc["id"]}
    service = fhir_mapping.healthcare_service(service_doc, {})
    _valid_r4(service)
    assert service["providedBy"]["reference"] == f"Organization/{org_doc['id']}"
    assert [loc["reference"] for loc in service["location"]] == [
        f"Location/{sal['location']['id']}" for sal in service_doc["service_at_locations"]
    ]
    assert {c["coding"][0]["code"] for c in service["communication"]} == {
        lang["code"] for lang in service_doc["languages"] if lang.get("code")
    }
    location_doc = json.loads((HSDS_JSON / "location.json").read_text())
    location = fhir_mapping.location(location_doc)
    _valid_r4(location)
    assert location["position"] == {
        "longitude": float(location_doc["longitude"]),
        "latitude": float(location_doc["latitude"]),
    }


def test_weekly_schedules_become_fhir_hours_and_others_stay_text() -> None:
    from referral_hub.directory import fhir_mapping

    doc = {
        "id": "loc-1",
        "location_type": "physical",
        "name": "Pantry",
        "schedules": [
            {"freq": "WEEKLY", "byday": "MO,WE", "opens_at": "9:00", "closes_at": "17:30", "description": "Weekdays"},
            {"freq": "MONTHLY", "byday": "1SA", "opens_at": "10:00", "closes_at": "12:00", "notes": "First Saturday"},
        ],
    }
    location = fhir_mapping.location(doc)
    _valid_r4(location)
    assert location["hoursOfOperation"] == [
        {"daysOfWeek": ["mon", "wed"], "openingTime": "09:00:00", "closingTime": "17:30:00"}
    ]
    assert location["availabilityExceptions"] == "Weekdays First Saturday"


# ---- the projection in a hub --------------------------------------------------------------------------------------
@pytest.fixture
def county_app(fresh_app: Flask) -> Flask:
    """A hub with the San Mateo county sample and Open Eligibility, geocoded offline and projected to FHIR."""
    from referral_hub.directory.demo import load_demo_directory
    from referral_hub.directory.fhir_sync import project_directory
    from referral_hub.extensions import db

    with fresh_app.app_context():
        load_demo_directory(db.session, nyc=False)
        db.session.commit()
    # The county sample files no service under a taxonomy: add pantries filed under Open Eligibility "Food"
    # (1102), at about 1, 3 and 15 miles from the 94063 centroid, so the need search has something to find.
    lat, lng = ZIP_94063
    for name, offset in (("Far pantry", 0.2), ("Near pantry", 0.012), ("Middle pantry", 0.04)):
        _filed_under_food(fresh_app, add_listing(fresh_app, name=name, latitude=lat + offset, longitude=lng).service_id)
    with fresh_app.app_context():
        report = project_directory(db.session)
        db.session.commit()
        assert report.created["HealthcareService"] > 0
        db.session.remove()
    return fresh_app


def _filed_under_food(app: Flask, service_id: str) -> None:
    from referral_hub.extensions import db
    from resource_directory.models import Attribute
    from resource_directory.taxonomy import open_eligibility_term_id

    with app.app_context():
        db.session.add(
            Attribute(
                id=str(uuid.uuid4()),
                link_id=service_id,
                link_entity="service",
                link_type="service_type",
                taxonomy_term_id=open_eligibility_term_id("1102"),
            )
        )
        db.session.commit()
        db.session.remove()


def _reader(app: Flask) -> dict[str, str]:
    """A CBO's client with read/search scopes only (directory data is public to every organization)."""
    identity = register_test_client(app, org_slug="pantry-cbo", org_kind="cbo", scopes="system/*.rs")
    return {"Authorization": f"Bearer {mint_token(app, identity)}"}


def _program(app: Flask) -> dict[str, str]:
    identity = program_identity(app)
    return {"Authorization": f"Bearer {mint_token(app, identity)}", "Content-Type": "application/fhir+json"}


def _get(client: FlaskClient, url: str, headers: dict[str, str], status: int = 200) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def _resources(bundle: dict[str, Any], mode: str = "match") -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def _distances(bundle: dict[str, Any]) -> list[float]:
    out = []
    for entry in bundle.get("entry", []):
        if entry["search"]["mode"] != "match":
            continue
        [extension] = [x for x in entry["search"]["extension"] if x["url"] == DISTANCE_URL]
        out.append(extension["valueDistance"]["value"])
    return out


def test_food_within_5_miles_of_94063_comes_nearest_first_through_fhir(county_app: Flask) -> None:
    """Acceptance (issue 5): the county sample through /fhir, same services and order as /hsds."""
    client = county_app.test_client()
    headers = _reader(county_app)
    lat, lng = ZIP_94063
    near = quote(f"{lat}|{lng}|5|[mi_us]")
    bundle = _get(client, f"/fhir/HealthcareService?location.near={near}&service-category=food-insecurity", headers)
    services = _resources(bundle)
    assert [s["name"] for s in services] == ["Near pantry", "Middle pantry"]
    distances = _distances(bundle)
    assert distances == sorted(distances)
    assert all(d <= 5.0 for d in distances)
    for service in services:
        codes = {c["coding"][0]["code"] for c in service.get("category", [])}
        assert "food-insecurity" in codes, service["name"]
    hsds = _get(
        client,
        f"/hsds/services?category=food-insecurity&lat={lat}&lng={lng}&radius={FIVE_MILES_KM}&per_page=50",
        {},
    )
    assert [s["id"] for s in services] == [item["id"] for item in hsds["contents"]]
    assert bundle["total"] == hsds["total_items"]
    # Free text, as the UI's "food" search.
    text = _get(client, f"/fhir/HealthcareService?location.near={near}&_content=food", headers)
    hsds_text = _get(client, f"/hsds/services?search=food&lat={lat}&lng={lng}&radius={FIVE_MILES_KM}&per_page=50", {})
    assert [s["id"] for s in _resources(text)] == [item["id"] for item in hsds_text["contents"]]


def test_distance_search_pages_in_distance_order_and_includes_locations(county_app: Flask) -> None:
    client = county_app.test_client()
    headers = _reader(county_app)
    lat, lng = ZIP_94063
    near = quote(f"{lat}|{lng}|20|km")
    first = _get(
        client, f"/fhir/HealthcareService?location.near={near}&_count=3&_include=HealthcareService:location", headers
    )
    assert len(_resources(first)) == 3
    included = {r["id"] for r in _resources(first, "include")}
    for service in _resources(first):
        assert {ref["reference"].split("/")[1] for ref in service.get("location", [])} <= included
    [next_link] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = _get(client, "/fhir" + next_link.split("/fhir", 1)[1], headers)
    both = _distances(first) + _distances(second)
    assert both == sorted(both)
    assert not {r["id"] for r in _resources(first)} & {r["id"] for r in _resources(second)}


def test_projected_resources_are_read_and_searched_with_standard_parameters(county_app: Flask) -> None:
    client = county_app.test_client()
    headers = _reader(county_app)
    food = _resources(_get(client, "/fhir/HealthcareService?service-category=food-insecurity&_count=200", headers))
    assert food
    service = food[0]
    read = _get(client, f"/fhir/HealthcareService/{service['id']}", headers)
    assert read == service
    # The HSDS id is the FHIR id: /hsds and /fhir name the same listing.
    assert _get(client, f"/hsds/services/{service['id']}", {})["name"] == service["name"]
    by_name = _resources(_get(client, f"/fhir/HealthcareService?name={quote(service['name'][:6])}", headers))
    assert service["id"] in {s["id"] for s in by_name}
    assert all(s["name"].lower().startswith(service["name"][:6].lower()) for s in by_name)
    location_ref = service["location"][0]["reference"]
    at_location = _resources(_get(client, f"/fhir/HealthcareService?location={location_ref}", headers))
    assert service["id"] in {s["id"] for s in at_location}
    recent = _resources(
        _get(
            client, f"/fhir/HealthcareService?_lastUpdated=ge{service['meta']['lastUpdated'][:10]}&_count=500", headers
        )
    )
    assert service["id"] in {s["id"] for s in recent}
    assert _resources(_get(client, "/fhir/HealthcareService?_lastUpdated=lt2000-01-01", headers)) == []
    location = _get(client, f"/fhir/{location_ref}", headers)
    assert location["resourceType"] == "Location"
    organization = _get(client, f"/fhir/{service['providedBy']['reference']}", headers)
    by_org_name = _resources(_get(client, f"/fhir/Organization?name={quote(organization['name'])}", headers))
    assert organization["id"] in {o["id"] for o in by_org_name}
    assert all(len(_resources(_get(client, f"/fhir/{t}?_count=1", headers))) == 1 for t in ("Location", "Organization"))


def test_projection_follows_directory_changes_and_is_idempotent(county_app: Flask) -> None:
    from sqlalchemy import delete

    from referral_hub.directory.fhir_sync import project_directory
    from referral_hub.extensions import db
    from resource_directory.models import Service, ServiceAtLocation

    client = county_app.test_client()
    headers = _reader(county_app)
    with county_app.app_context():
        again = project_directory(db.session)
        db.session.commit()
        assert again.changed == 0
        services = db.session.query(Service).order_by(Service.id).limit(2).all()
        renamed, removed = services[0], services[1]
        renamed.name, renamed.referral_status = "Renamed pantry", "waitlist"
        renamed_id, removed_id = renamed.id, removed.id
        db.session.execute(delete(ServiceAtLocation).where(ServiceAtLocation.service_id == removed_id))
        db.session.delete(removed)
        db.session.commit()
        report = project_directory(db.session)
        db.session.commit()
        assert report.updated["HealthcareService"] == 1
        assert report.retired["HealthcareService"] == 1
        db.session.remove()
    body = _get(client, f"/fhir/HealthcareService/{renamed_id}", headers)
    assert body["name"] == "Renamed pantry"
    assert body["meta"]["versionId"] == "2"
    [capacity] = body["extension"]
    assert capacity["valueCodeableConcept"]["coding"][0]["code"] == "waitlist"
    gone = _get(client, f"/fhir/HealthcareService/{removed_id}", headers)
    assert gone["active"] is False
    history = _get(client, f"/fhir/HealthcareService/{renamed_id}/_history", headers)
    assert len(history["entry"]) == 2


def test_directory_resources_cannot_be_changed_or_forged_through_fhir(county_app: Flask) -> None:
    client = county_app.test_client()
    headers = _program(county_app)  # even an all-compartments integration client
    service = _resources(_get(client, "/fhir/HealthcareService?_count=1", headers))[0]
    changed = {**service, "name": "Hijacked"}
    response = client.put(f"/fhir/HealthcareService/{service['id']}", json=changed, headers=headers)
    assert response.status_code == 403
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "directory" in outcome["issue"][0]["diagnostics"]
    assert _get(client, f"/fhir/HealthcareService/{service['id']}", headers)["name"] == service["name"]
    forged = {k: v for k, v in service.items() if k not in ("id",)}
    response = client.post("/fhir/HealthcareService", json=forged, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["expression"] == ["HealthcareService.meta.tag"]


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("location.near=abc|-122.2|5|km", "location.near"),
        ("location.near=95|-122.2|5|km", "location.near"),
        ("location.near=37.4|-122.2|5|furlong", "location.near"),
        ("location.near=37.4|-122.2|-5|km", "location.near"),
        ("location.near=37.4", "location.near"),
        ("location.near=37.4|-122.2|5|km&name=food", "name"),
        ("location.near=37.4|-122.2|5|km&service-category=a,b", "service-category"),
        ("location.near=37.4|-122.2|5|km&communication=xx", "communication"),
        ("location.near=37.4|-122.2|5|km&_cursor=bogus", "_cursor"),
    ],
)
def test_bad_distance_searches_get_an_operation_outcome_naming_the_parameter(
    demo_sqlite_app: Flask, query: str, expression: str
) -> None:
    client = demo_sqlite_app.test_client()
    response = client.get(f"/fhir/HealthcareService?{query}", headers=_reader(demo_sqlite_app))
    assert response.status_code == 400, response.get_data(as_text=True)
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [expression]


def test_directory_import_command_brings_fhir_up_to_date(fresh_app: Flask) -> None:
    """The CLI import enqueues the projection in its own transaction; without Redis it runs right after the commit."""
    from referral_hub.extensions import db
    from resource_directory.taxonomy import load_open_eligibility

    with fresh_app.app_context():
        load_open_eligibility(db.session)
        db.session.remove()
    sample = Path(__file__).resolve().parents[2] / "referral_hub" / "directory" / "demo_data" / "ohana-san-mateo"
    result = fresh_app.test_cli_runner().invoke(args=["directory", "import", str(sample), "--format", "ohana"])
    assert result.exit_code == 0, result.output
    client = fresh_app.test_client()
    bundle = _get(client, "/fhir/HealthcareService?_summary=count", _reader(fresh_app))
    assert bundle["total"] > 0
    organizations = _get(
        client,
        "/fhir/Organization?_tag=https://referral-hub.example.org/fhir/CodeSystem/record-source|hsds-directory&_summary=count",
        _reader(fresh_app),
    )
    assert organizations["total"] > 0


def test_geocoding_runs_as_a_chain_of_batch_jobs_that_ends_and_updates_fhir(fresh_app: Flask) -> None:
    """Locations without coordinates are placed by background batches (2 per job here); one the offline geocoder
    cannot place stays pending without stopping the chain; the FHIR Locations get their positions."""
    from sqlalchemy import select

    from referral_hub.directory.geocoding_jobs import request_geocoding
    from referral_hub.extensions import db
    from referral_hub.jobs.models import OutboxMessage
    from resource_directory.models import Address, Location

    fresh_app.config["DIRECTORY_GEOCODE_BATCH"] = 2
    zips = {"a-redwood": "94063", "b-nowhere": "00000", "c-bronx": "10451", "d-chicago": "60601", "e-boston": "02108"}
    with fresh_app.app_context():
        for key, postcode in zips.items():
            location_id = str(uuid.uuid4())
            db.session.add(Location(id=location_id, location_type="physical", name=f"Site {key}"))
            db.session.flush()
            db.session.add(
                Address(
                    id=str(uuid.uuid4()),
                    location_id=location_id,
                    address_1="1 Main St",
                    city="Somewhere",
                    state_province="NY",
                    postal_code=postcode,
                    country="US",
                    address_type="physical",
                )
            )
        request_geocoding(db.session)
        db.session.commit()  # without Redis the chain runs in-process, one job after each commit
        db.session.expire_all()
        placed = {loc.name: loc.geocode_source for loc in db.session.execute(select(Location)).scalars()}
        runs = db.session.execute(
            select(OutboxMessage.status).where(OutboxMessage.name == "directory.geocode_pending")
        ).all()
        projections = db.session.execute(
            select(OutboxMessage.status).where(OutboxMessage.name == "directory.project_fhir")
        ).all()
        db.session.remove()
    assert placed.pop("Site b-nowhere") is None
    assert all(source is not None for source in placed.values()), placed
    assert [status for (status,) in runs] == ["succeeded"] * 3  # 2 + 2 + 1 (the unmatched one is skipped after)
    assert [status for (status,) in projections] == ["succeeded"]
    client = fresh_app.test_client()
    locations = _resources(_get(client, "/fhir/Location?name=Site&_count=10", _reader(fresh_app)))
    positioned = {loc["name"] for loc in locations if "position" in loc}
    assert positioned == {"Site a-redwood", "Site c-bronx", "Site d-chicago", "Site e-boston"}
