"""Property test: distance searches return exactly the brute-force haversine answer (ids and order).

A generated directory (clustered locations, multi-site services, random terms and languages) is
searched from random points with random radii and filters; the expected answer is computed in plain
Python over every row, the way a naive implementation would. Both databases must agree with it.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from sqlalchemy.orm import Session

from resource_directory.geocoding.points import haversine_km
from resource_directory.models import (
    Attribute,
    Language,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resource_directory.search import SearchQuery, search

CENTRES = [(40.84, -73.87), (40.68, -73.95), (37.48, -122.21)]


def _generate(session: Session, rng: random.Random, services: int) -> dict[str, object]:
    org = Organization(id="org", name="Generated", description="generated")
    terms = [TaxonomyTerm(id=f"term-{i}", name=f"Term {i}", description="t") for i in range(6)]
    session.add_all([org, *terms])
    session.flush()
    rows: dict[str, object] = {
        "services": {},
        "locations": {},
        "sal": [],
        "terms": defaultdict(set),
        "langs": defaultdict(set),
        "loc_langs": defaultdict(set),
    }
    for index in range(services):
        service_id = f"svc-{index:05d}"
        name = rng.choice(["Pantry", "Clinic", "Shelter", "Legal Aid", "Tutoring"]) + f" {rng.randint(1, 40)}"
        session.add(Service(id=service_id, organization_id="org", name=name, status="active"))
        rows["services"][service_id] = name  # type: ignore[index]
        for term in rng.sample(terms, rng.randint(0, 2)):
            session.add(
                Attribute(
                    id=f"a-{service_id}-{term.id}", link_id=service_id, link_entity="service", taxonomy_term_id=term.id
                )
            )
            rows["terms"][service_id].add(term.id)  # type: ignore[index]
        if rng.random() < 0.3:
            session.add(Language(id=f"l-{service_id}", service_id=service_id, code="es", name="Spanish"))
            rows["langs"][service_id].add("es")  # type: ignore[index]
        for site in range(rng.choice([1, 1, 1, 2, 3])):
            centre = rng.choice(CENTRES)
            lat = round(centre[0] + rng.gauss(0, 0.05), 6)
            lon = round(centre[1] + rng.gauss(0, 0.05), 6)
            location_id = f"loc-{index:05d}-{site}"
            session.add(Location(id=location_id, location_type="physical", latitude=lat, longitude=lon))
            rows["locations"][location_id] = (lat, lon)  # type: ignore[index]
            if rng.random() < 0.1:
                session.add(Language(id=f"ll-{location_id}", location_id=location_id, code="spa"))
                rows["loc_langs"][location_id].add("es")  # type: ignore[index]
            session.add(ServiceAtLocation(id=f"sal-{location_id}", service_id=service_id, location_id=location_id))
            rows["sal"].append((service_id, location_id))  # type: ignore[union-attr]
    session.commit()
    return rows


def _brute_force(
    rows: dict,
    point: tuple[float, float],
    radius: float,
    term: str | None,  # type: ignore[type-arg]
    spanish: bool,
) -> list[tuple[str, str]]:
    best: dict[str, tuple[float, str]] = {}
    for service_id, location_id in rows["sal"]:
        if term is not None and term not in rows["terms"][service_id]:
            continue
        if spanish and "es" not in rows["langs"][service_id] and "es" not in rows["loc_langs"][location_id]:
            continue
        lat, lon = rows["locations"][location_id]
        distance = haversine_km(point[0], point[1], lat, lon)
        if distance <= radius and (service_id not in best or (distance, location_id) < best[service_id]):
            best[service_id] = (distance, location_id)
    ordered = sorted(best, key=lambda s: (best[s][0], rows["services"][s].casefold(), s))
    return [(s, best[s][1]) for s in ordered]


@pytest.mark.slow
def test_distance_search_equals_brute_force_haversine(session: Session) -> None:
    rng = random.Random(20240506)
    rows = _generate(session, rng, services=1200)
    for _ in range(25):
        centre = rng.choice(CENTRES)
        point = (centre[0] + rng.gauss(0, 0.04), centre[1] + rng.gauss(0, 0.04))
        radius = rng.choice([0.5, 1.0, 2.5, 5.0, 8.0])
        term = rng.choice([None, "term-0", "term-3"])
        spanish = rng.random() < 0.4
        expected = _brute_force(rows, point, radius, term, spanish)
        got: list[tuple[str, str]] = []
        page_number = 1
        while True:
            page = search(
                session,
                SearchQuery(
                    near=point,
                    radius_km=radius,
                    need=term,
                    language="es" if spanish else None,
                    page=page_number,
                    per_page=100,
                ),
            )
            got += [(r.service_id, r.location_id or "") for r in page.results]
            assert page.total == len(expected)
            if page_number >= page.total_pages:
                break
            page_number += 1
        assert got == expected
