"""Helpers of the directory tests: patients with a home address, small directory fixtures, page parsing."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask

from tests.web.hub_testing import Seeded

#: ZIP centroids as the offline geocoder gives them (zipcodes package), for the acceptance searches.
ZIP_94063 = (37.4815, -122.2091)
FIVE_MILES_KM = 5 * 1.609344


def add_patient(app: Flask, seeded: Seeded, org_key: str, *, address: dict[str, Any], language: str) -> str:
    """A Patient of ``org_key``'s compartment with a home address and a preferred language; returns its id."""
    from referral_hub.extensions import db
    from referral_hub.fhir.store import ResourceStore
    from referral_hub.security.principal import Principal, set_current_principal

    org_id, _slug, fhir_id = seeded.organizations[org_key]
    body = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": "Rivera", "given": ["Ana"]}],
        "birthDate": "1975-05-06",
        "address": [{"use": "home", **address}],
        "communication": [{"language": {"coding": [{"code": language}]}, "preferred": True}],
        "managingOrganization": {"reference": f"Organization/{fhir_id}"},
    }
    creator = Principal(kind="user", id="seed", organization_id=org_id, organization_ref=f"Organization/{fhir_id}")
    with app.test_request_context():
        set_current_principal(creator)
        store = ResourceStore(db.session, (app.config["FHIR_BASE_URL"],))
        patient_id = store.create(body, workflow=False).resource.resource_id
        db.session.commit()
    return patient_id


BRONX_ADDRESS = {"line": ["890 Grand Concourse"], "city": "Bronx", "state": "NY", "postalCode": "10451"}


@dataclass
class SmallListing:
    organization_id: str
    service_id: str
    location_id: str


def add_listing(
    app: Flask,
    *,
    name: str = "Eastside Pantry",
    contact_email: str | None = "listings@eastside.example.org",
    assured: date | None = None,
    latitude: float = 37.4815,
    longitude: float = -122.2091,
) -> SmallListing:
    """One organization with one service at one location (and one contact), written directly as HSDS rows."""
    from referral_hub.extensions import db
    from resource_directory.models import Address, Contact, Location, Organization, Service, ServiceAtLocation

    ids = SmallListing(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    with app.app_context():
        db.session.add(Organization(id=ids.organization_id, name=f"{name} Inc.", description="A food bank."))
        db.session.flush()
        db.session.add(
            Service(
                id=ids.service_id,
                organization_id=ids.organization_id,
                name=name,
                description="Groceries every week.",
                status="active",
                assured_date=assured,
            )
        )
        db.session.add(
            Location(id=ids.location_id, location_type="physical", name=name, latitude=latitude, longitude=longitude)
        )
        db.session.flush()
        db.session.add(ServiceAtLocation(id=str(uuid.uuid4()), service_id=ids.service_id, location_id=ids.location_id))
        db.session.add(
            Address(
                id=str(uuid.uuid4()),
                location_id=ids.location_id,
                address_1="1 Main St",
                city="Redwood City",
                state_province="CA",
                postal_code="94063",
                country="US",
                address_type="physical",
            )
        )
        if contact_email:
            db.session.add(
                Contact(id=str(uuid.uuid4()), service_id=ids.service_id, name="Listings desk", email=contact_email)
            )
        db.session.commit()
    return ids


CARD_RE = re.compile(r'data-service-id="([^"]+)"')
DISTANCE_RE = re.compile(r'data-testid="distance">([0-9.,]+) miles away<')


def result_ids(page: str) -> list[str]:
    return CARD_RE.findall(page)


def result_miles(page: str) -> list[float]:
    return [float(value.replace(",", "")) for value in DISTANCE_RE.findall(page)]
