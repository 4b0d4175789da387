"""The HSDS 3.0 API under /hsds (issue 5 scope 6): envelope, paging, ndjson, minimal/full, filters, errors,
``modified_after``, the profile extensions, and the two acceptance searches (county sample and NYC sites)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from resource_directory.geocoding import haversine_km
from tests.directory.directory_testing import FIVE_MILES_KM, ZIP_94063, add_listing

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "hsds-samples" / "openreferral-hsds-3.0-examples" / "json"
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"}


def _get(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def test_root_names_the_version_the_profile_and_the_openapi_document(demo_sqlite_app: Flask) -> None:
    body = _get(demo_sqlite_app.test_client(), "/hsds/")
    official = json.loads((SAMPLES / "base.json").read_text())
    assert set(body) == set(official)
    assert body["version"] == "3.0"
    assert body["openapi_url"] == official["openapi_url"]
    profile = _get(demo_sqlite_app.test_client(), "/hsds/profile")
    assert {"lat", "lng", "radius", "language", "age", "open_now", "category", "accepting"} <= set(
        profile["parameters"]
    )


def test_services_page_has_the_official_envelope_and_pages_do_not_overlap(demo_app: Flask) -> None:
    client = demo_app.test_client()
    official = json.loads((SAMPLES / "service_list.json").read_text())
    first = _get(client, "/hsds/services?per_page=3")
    second = _get(client, "/hsds/services?per_page=3&page=2")
    assert set(first) == set(official) == PAGE_KEYS
    assert first["total_items"] == second["total_items"] > 2000  # county sample + NYC
    assert first["total_pages"] == -(-first["total_items"] // 3)
    assert (first["page_number"], first["size"], first["first_page"], first["last_page"], first["empty"]) == (
        1,
        3,
        True,
        False,
        False,
    )
    assert second["first_page"] is False
    ids = [s["id"] for s in first["contents"]] + [s["id"] for s in second["contents"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 6
    # The list shape of the official example: the service with its organization and program embedded shallowly.
    assert {"organization"} <= set(first["contents"][0])
    assert "service_at_locations" not in first["contents"][0]
    last = _get(client, f"/hsds/services?per_page=3&page={first['total_pages']}")
    assert last["last_page"] is True
    beyond = _get(client, f"/hsds/services?per_page=3&page={first['total_pages'] + 1}")
    assert beyond["empty"] is True
    assert beyond["contents"] == []


def test_ndjson_streams_every_match_without_paging(demo_sqlite_app: Flask) -> None:
    client = demo_sqlite_app.test_client()
    paged = _get(client, "/hsds/taxonomy_terms?per_page=100")
    response = client.get("/hsds/taxonomy_terms?format=ndjson")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == paged["total_items"] > 100
    assert [line["id"] for line in lines[:100]] == [t["id"] for t in paged["contents"]]


def test_minimal_returns_only_ids_and_full_nests_locations(demo_sqlite_app: Flask) -> None:
    client = demo_sqlite_app.test_client()
    minimal = _get(client, "/hsds/services?minimal=true")
    assert minimal["size"] == minimal["total_items"]  # "aim to return all services within one call"
    assert all(set(item) <= {"id", "last_modified"} for item in minimal["contents"])
    full = _get(client, "/hsds/services?full=true&per_page=5&search=food")
    located = [s for s in full["contents"] if s.get("service_at_locations")]
    assert located, "a food service with a location"
    location = located[0]["service_at_locations"][0]["location"]
    assert {"id", "location_type"} <= set(location)
    one = _get(client, f"/hsds/services/{located[0]['id']}")
    official = json.loads((SAMPLES / "service_full.json").read_text())
    # The detail is the service_full shape: every key we emit is one the official example uses.
    assert set(one) <= set(official) | {"organization_id", "program_id", "capacities", "additional_urls"}
    assert one["organization"]["id"] == one["organization_id"]


def test_service_at_locations_list_embeds_location_and_service(demo_sqlite_app: Flask) -> None:
    body = _get(demo_sqlite_app.test_client(), "/hsds/service_at_locations?per_page=2")
    official = json.loads((SAMPLES / "service_at_location_list.json").read_text())
    assert set(body) == set(official)
    item = body["contents"][0]
    assert {"id", "location", "service"} <= set(item)
    assert "organization" in item["service"]


def test_organizations_taxonomies_and_terms(demo_sqlite_app: Flask) -> None:
    client = demo_sqlite_app.test_client()
    found = _get(client, "/hsds/organizations?search=salvation")
    assert found["total_items"] >= 1
    assert all("salvation" in o["name"].lower() for o in found["contents"])
    organization_id = found["contents"][0]["id"]
    detail = _get(client, f"/hsds/organizations/{organization_id}?full_service=true")
    assert detail["services"]
    assert all(s["organization_id"] == organization_id for s in detail["services"])
    by_org = _get(client, f"/hsds/services?organization_id={organization_id}")
    assert {s["id"] for s in by_org["contents"]} == {s["id"] for s in detail["services"]}
    taxonomies = _get(client, "/hsds/taxonomies")
    names = {t["name"] for t in taxonomies["contents"]}
    assert "Open Eligibility" in names
    open_eligibility = next(t["id"] for t in taxonomies["contents"] if t["name"] == "Open Eligibility")
    top = _get(client, f"/hsds/taxonomy_terms?taxonomy_id={open_eligibility}&top_only=true&per_page=100")
    assert top["total_items"] > 5
    assert all("parent_id" not in t for t in top["contents"])
    assert all(t["taxonomy_detail"]["id"] == open_eligibility for t in top["contents"])
    tagged = _get(client, f"/hsds/services?taxonomy_id={open_eligibility}&per_page=1")
    assert 0 < tagged["total_items"] < _get(client, "/hsds/services?per_page=1")["total_items"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("lat=37.5", "lng"),
        ("lat=abc&lng=1", "lat"),
        ("lat=95&lng=1", "lat"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=x", "page"),
        ("format=xml", "format"),
        ("full=maybe", "full"),
        ("modified_after=last-week", "modified_after"),
        ("language=zz", "language"),
        ("age=-3", "age"),
        ("open_now=perhaps", "open_now"),
        ("category=not-a-need", "category"),
        ("postcode=00000&proximity=1000", "postcode"),
        ("proximity=1000", "proximity"),
        ("proximity=far&postcode=94063", "proximity"),
        ("organization_id=x&language=es", "organization_id"),
        ("colour=blue", "colour"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(demo_sqlite_app: Flask, query: str, parameter: str) -> None:
    body = _get(demo_sqlite_app.test_client(), f"/hsds/services?{query}", status=400)
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter, body


def test_unknown_ids_answer_404_json(demo_sqlite_app: Flask) -> None:
    client = demo_sqlite_app.test_client()
    for path in ("services", "organizations", "service_at_locations", "taxonomies", "taxonomy_terms"):
        assert _get(client, f"/hsds/{path}/no-such-id", status=404)["error"] == "not_found"


def test_modified_after_returns_services_changed_since(fresh_app: Flask) -> None:
    from referral_hub.extensions import db
    from resource_directory.models import Service

    old = add_listing(fresh_app, name="Old Pantry")
    new = add_listing(fresh_app, name="New Pantry")
    with fresh_app.app_context():
        db.session.get(Service, old.service_id).last_modified = datetime(2024, 1, 1, 12, 0)  # type: ignore[union-attr]
        db.session.get(Service, new.service_id).last_modified = datetime(2025, 6, 1, 12, 0)  # type: ignore[union-attr]
        db.session.commit()
    client = fresh_app.test_client()
    assert [s["id"] for s in _get(client, "/hsds/services?modified_after=2025-01-01")["contents"]] == [new.service_id]
    later = _get(client, "/hsds/services?modified_after=2025-06-01T12:00:01Z")
    assert later["total_items"] == 0
    offset = _get(client, "/hsds/services?modified_after=2025-06-01T13:00:00%2B01:00")  # = 12:00 UTC, inclusive
    assert [s["id"] for s in offset["contents"]] == [new.service_id]
    both = {s["id"] for s in _get(client, "/hsds/services?modified_after=2023-12-31T00:00:00Z")["contents"]}
    assert both == {old.service_id, new.service_id}


def _sorted_by_distance(items: list[dict[str, Any]]) -> list[float]:
    distances = [item["search_result"]["distance_km"] for item in items]
    assert distances == sorted(distances)
    return distances


def test_food_within_5_miles_of_94063_sorted_by_distance(demo_app: Flask) -> None:
    """Acceptance (issue 5): the county sample through /hsds, nearest first, each within 5 miles."""
    client = demo_app.test_client()
    lat, lng = ZIP_94063
    body = _get(client, f"/hsds/services?search=food&lat={lat}&lng={lng}&radius={FIVE_MILES_KM}&per_page=50")
    assert body["total_items"] >= 1
    distances = _sorted_by_distance(body["contents"])
    assert all(d <= FIVE_MILES_KM for d in distances)
    for item in body["contents"]:
        assert item["search_result"]["matched"][0] == "text: 'food'"
    # HSDS postcode + proximity (metres): the same radius from the ZIP centroid, narrowed to services whose
    # service_area covers the ZIP (or that list none).
    hsds = _get(client, f"/hsds/service_at_locations?search=food&postcode=94063&proximity={FIVE_MILES_KM * 1000}")
    _sorted_by_distance(hsds["contents"])
    assert {i["service_id"] for i in hsds["contents"]} <= {i["id"] for i in body["contents"]}
    for item in hsds["contents"]:
        assert any(r.startswith(("serves your area", "no service-area")) for r in item["search_result"]["matched"])
        location = item["location"]
        assert haversine_km(lat, lng, location["latitude"], location["longitude"]) == pytest.approx(
            item["search_result"]["distance_km"], abs=0.01
        )


def _speaks_spanish(service: dict[str, Any], location_id: str) -> bool:
    languages = list(service.get("languages", []))
    for sal in service.get("service_at_locations", []):
        if sal["location"]["id"] == location_id:
            languages += sal["location"].get("languages", [])
    return any((lang.get("code") or "").lower() in ("es", "spa") or lang.get("name") == "Spanish" for lang in languages)


def test_nyc_need_in_spanish_near_a_bronx_zip_nearest_first(demo_app: Flask) -> None:
    """Acceptance (issue 5): NYC sites, a need, Spanish, near 10451 — Spanish-speaking services nearest first."""
    client = demo_app.test_client()
    url = "/hsds/services?category=food-insecurity&language=es&postcode=10451&radius=5&full=true&per_page=20"
    body = _get(client, url)
    assert body["total_items"] >= 3
    _sorted_by_distance(body["contents"])
    for item in body["contents"]:
        assert _speaks_spanish(item, item["search_result"]["location_id"]), item["name"]
        assert "speaks Spanish" in item["search_result"]["matched"]


def test_authenticated_mode_refuses_anonymous_callers(fresh_sqlite_template: Path, tmp_path: Path) -> None:
    import shutil

    from tests.web.hub_testing import make_app

    shutil.copyfile(fresh_sqlite_template, tmp_path / "hub.db")
    app = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path, DIRECTORY_HSDS_ACCESS="authenticated")
    client = app.test_client()
    response = client.get("/hsds/services")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/hsds/services", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    public = make_app(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path)
    answer = public.test_client().get("/hsds/services")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_searches_run_without_transaction_round_trips_on_postgresql_and_postcode_searches_keep_theirs(
    fresh_app: Flask,
) -> None:
    """/hsds only reads: on PostgreSQL its statements run in autocommit (no BEGIN/ROLLBACK), except a search from a
    postcode, whose geocoder may flush a cache row that the request's rollback must discard."""
    from sqlalchemy import event

    from referral_hub.extensions import db

    listing = add_listing(fresh_app)
    with fresh_app.app_context():
        engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    seen: list[bool] = []

    def record(conn: Any, *_args: Any) -> None:
        seen.append(postgres and bool(conn.connection.dbapi_connection.autocommit))

    client = fresh_app.test_client()
    event.listen(engine, "before_cursor_execute", record)
    try:
        near = _get(client, f"/hsds/services?lat={ZIP_94063[0]}&lng={ZIP_94063[1]}&radius=8")
        by_point = list(seen)
        seen.clear()
        by_postcode = _get(client, "/hsds/services?postcode=94063&radius=8")
        postcode = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s["id"] for s in near["contents"]] == [s["id"] for s in by_postcode["contents"]] == [listing.service_id]
    assert by_point
    assert all(autocommit == postgres for autocommit in by_point), by_point
    assert postcode
    assert not any(postcode), postcode
