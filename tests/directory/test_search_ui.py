"""The staff search and service pages (issue 5 scope 7): acceptance searches through the UI, the patient's address
prefilled server-side through the policy (never in a URL) and audited, errors next to the field, Spanish, access."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from resource_directory.geocoding import haversine_km
from resource_directory.search import SearchQuery, search
from tests.directory.directory_testing import (
    BRONX_ADDRESS,
    FIVE_MILES_KM,
    add_patient,
    result_ids,
    result_miles,
)
from tests.web.hub_testing import Seeded, login, seed


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.get_data(as_text=True)


def _signed_in(app: Flask, role: str = "clinic_staff") -> tuple[FlaskClient, Seeded]:
    seeded = seed(app)
    client = app.test_client()
    login(app, client, seeded.accounts[role])
    return client, seeded


def test_food_within_5_miles_of_94063_through_the_ui_sorted_by_distance(demo_app: Flask) -> None:
    """Acceptance (issue 5): the county sample, "food" within 5 miles of ZIP 94063, nearest first."""
    client, _ = _signed_in(demo_app)
    page = _page(client, "/directory/?q=food&near=94063&radius=5")
    ids = result_ids(page)
    miles = result_miles(page)
    assert ids, "food services near 94063"
    assert miles == sorted(miles)
    assert all(m <= 5.0 for m in miles)
    assert "Why it matched" in page
    assert "Mentions “food”" in page
    with demo_app.app_context():
        from referral_hub.extensions import db

        expected = search(db.session, SearchQuery(text="food", near="94063", radius_km=FIVE_MILES_KM, per_page=20))
    assert ids == [r.service_id for r in expected.results]


def _speaks_spanish(app: Flask, service_id: str) -> bool:
    from referral_hub.extensions import db
    from resource_directory.models import Language, ServiceAtLocation

    with app.app_context():
        location_ids = list(
            db.session.execute(
                select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == service_id)
            ).scalars()
        )
        codes = db.session.execute(
            select(Language.code).where(
                (Language.service_id == service_id) | (Language.location_id.in_(location_ids or [""]))
            )
        ).scalars()
        return "es" in {(c or "").lower() for c in codes}


def test_bronx_patient_need_in_spanish_nearest_first_with_the_address_prefilled(demo_app: Flask) -> None:
    """Acceptance (issue 5): NYC sites, a need, Spanish, near the patient's Bronx home — nearest first."""
    client, seeded = _signed_in(demo_app)
    patient_id = add_patient(demo_app, seeded, "clinic", address=BRONX_ADDRESS, language="es")
    first = _page(client, f"/directory/?patient={patient_id}")
    # Prefilled on the server: the address is shown, "near the patient's home" and Spanish are preselected.
    assert "890 Grand Concourse" in first
    assert re.search(r'id="where-patient" name="where" value="patient" checked', first)
    assert re.search(r'<option value="es" selected>', first)
    query = f"/directory/?patient={patient_id}&where=patient&need=food-insecurity&language=es&radius=5"
    response = client.get(query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    ids = result_ids(page)
    miles = result_miles(page)
    assert len(ids) >= 3
    assert miles == sorted(miles)
    assert all(_speaks_spanish(demo_app, service_id) for service_id in ids)
    # The address is never put into a URL (paging and detail links carry where=patient instead).
    links = re.findall(r'href="([^"]+)"', page)
    assert not [link for link in links if "Grand" in link or "10451" in link]
    assert any("where%3Dpatient" in link for link in links if link.startswith("/directory/services/"))
    with demo_app.app_context():
        from referral_hub.audit.models import AuditEventRow
        from referral_hub.extensions import db

        reads = db.session.execute(
            select(AuditEventRow).where(
                AuditEventRow.patient_ref == f"Patient/{patient_id}", AuditEventRow.action == "R"
            )
        ).scalars()
        assert len(list(reads)) == 2  # one audited read per page that used the address


def test_another_clinics_patient_is_not_found(demo_sqlite_app: Flask) -> None:
    client, seeded = _signed_in(demo_sqlite_app)
    other = add_patient(demo_sqlite_app, seeded, "clinic-2", address=BRONX_ADDRESS, language="es")
    page = _page(client, f"/directory/?patient={other}", status=404)
    assert "890 Grand Concourse" not in page


def test_errors_are_shown_next_to_the_field_and_nothing_typed_is_lost(demo_sqlite_app: Flask) -> None:
    client, _ = _signed_in(demo_sqlite_app)
    page = _page(client, "/directory/?q=rent+help&near=nowhere-at-all&radius=5&age=200&language=es")
    assert 'id="near-error"' in page
    assert "We could not find this place" in page
    assert 'value="nowhere-at-all"' in page
    assert 'value="rent help"' in page
    assert '<option value="es" selected>' in page
    assert "services found" not in page
    age = _page(client, "/directory/?near=94063&age=200")
    assert 'id="age-error"' in age


def test_service_page_shows_hours_languages_and_freshness(demo_sqlite_app: Flask) -> None:
    client, _ = _signed_in(demo_sqlite_app)
    results = _page(client, "/directory/?q=food&near=94063&radius=25")
    service_id = result_ids(results)[0]
    page = _page(client, f"/directory/services/{service_id}")
    assert 'data-testid="freshness"' in page
    assert "Not verified yet" in page or "Verified" in page
    assert "Back to results" in page
    _page(client, "/directory/services/no-such-service", status=404)


def test_the_search_page_speaks_spanish(demo_sqlite_app: Flask) -> None:
    client, _ = _signed_in(demo_sqlite_app)
    page = _page(client, "/directory/?q=food&near=94063&radius=5&lang=es")
    assert '<html lang="es"' in page
    assert "Buscar servicios" in page
    assert "Por qué coincide" in page
    assert "millas" in page


@pytest.mark.parametrize("role", ["clinic_staff", "cbo_staff", "cbo_admin", "program_manager", "admin"])
def test_every_signed_in_role_may_search_and_only_admins_see_listing_checks(demo_sqlite_app: Flask, role: str) -> None:
    client, _ = _signed_in(demo_sqlite_app, role)
    assert client.get("/directory/").status_code == 200
    assert client.get("/directory/admin/checks").status_code == (200 if role == "admin" else 403)


def test_anonymous_visitors_are_sent_to_sign_in(demo_sqlite_app: Flask) -> None:
    client = demo_sqlite_app.test_client()
    for path in ("/directory/", "/directory/services/x", "/directory/admin/checks"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_every_directory_view_declares_its_access(demo_sqlite_app: Flask) -> None:
    from referral_hub.web.access import access_of

    declared = {
        endpoint: access_of(view)
        for endpoint, view in demo_sqlite_app.view_functions.items()
        if endpoint.startswith(("directory.", "hsds."))
    }
    assert declared == {
        "directory.search_page": "authenticated",
        "directory.service_page": "authenticated",
        "directory.verify": "public",
        "directory.admin_checks": frozenset({"admin"}),
        "hsds.root": "public",
        "hsds.profile": "public",
        "hsds.services": "public",
        "hsds.service": "public",
        "hsds.service_at_locations": "public",
        "hsds.service_at_location": "public",
        "hsds.organizations": "public",
        "hsds.organization": "public",
        "hsds.taxonomies": "public",
        "hsds.taxonomy": "public",
        "hsds.taxonomy_terms": "public",
        "hsds.taxonomy_term": "public",
    }


def test_distances_shown_match_the_haversine_distance(demo_sqlite_app: Flask) -> None:
    client, _ = _signed_in(demo_sqlite_app)
    page = _page(client, "/directory/?near=37.4815,-122.2091&radius=2")
    miles = result_miles(page)
    with demo_sqlite_app.app_context():
        from referral_hub.extensions import db

        expected = search(db.session, SearchQuery(near=(37.4815, -122.2091), radius_km=2 * 1.609344, per_page=20))
    assert len(miles) == len(expected.results) > 0
    for shown, result in zip(miles, expected.results, strict=True):
        assert result.latitude is not None
        assert result.longitude is not None
        km = haversine_km(37.4815, -122.2091, result.latitude, result.longitude)
        assert shown == pytest.approx(km / 1.609344, abs=0.051)
