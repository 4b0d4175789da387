"""Bench: indexed directory search vs a brute-force scan, on SQLite and PostgreSQL (a script, not a test).

    .venv/bin/python tests/bench/bench_directory_search.py [--services 5400] [--repeat 30] [--pg-url URL]

Builds a synthetic directory shaped like the NYC city-funded sites set (about 5,400 located services
clustered around the five boroughs, several services per building, a taxonomy of 20 terms, 25% of
services speaking Spanish), then times ``search(near=…, radius_km=5, need=…)`` against the naive
approach: load every location with its service and terms, compute haversine in Python, filter,
sort. Prints both median timings and their ratio per database. Both answers are checked equal.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from resource_directory.ddl import create_extras
from resource_directory.geocoding.points import haversine_km
from resource_directory.models import (
    Attribute,
    Base,
    Language,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resource_directory.search import SearchQuery, search

BOROUGHS = [
    (40.8448, -73.8648, 0.03),
    (40.6782, -73.9442, 0.04),
    (40.7831, -73.9712, 0.025),
    (40.7282, -73.7949, 0.05),
    (40.5795, -74.1502, 0.04),
]


def build(engine: Engine, services: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        create_extras(connection)
    with Session(engine) as session:
        session.add(Organization(id="org-bench", name="Bench Providers", description="synthetic"))
        session.add_all(TaxonomyTerm(id=f"term-{i:02d}", name=f"Service type {i}", description="t") for i in range(20))
        session.flush()
        buildings: list[tuple[float, float]] = []
        for index in range(services):
            if buildings and rng.random() < 0.5:  # NYC set: ~2 services per building on average
                lat, lon = rng.choice(buildings)
            else:
                lat0, lon0, spread = rng.choice(BOROUGHS)
                lat, lon = lat0 + rng.gauss(0, spread), lon0 + rng.gauss(0, spread)
                buildings.append((lat, lon))
            sid = f"svc-{index:06d}"
            session.add(
                Service(
                    id=sid,
                    organization_id="org-bench",
                    name=f"Program {rng.randint(1, 999)}",
                    status="active",
                    description="synthetic youth aging health program",
                )
            )
            session.add(Location(id=f"loc-{index:06d}", location_type="physical", latitude=lat, longitude=lon))
            session.add(ServiceAtLocation(id=f"sal-{index:06d}", service_id=sid, location_id=f"loc-{index:06d}"))
            session.add(
                Attribute(
                    id=f"att-{index:06d}",
                    link_id=sid,
                    link_entity="service",
                    taxonomy_term_id=f"term-{rng.randrange(20):02d}",
                )
            )
            if rng.random() < 0.25:
                session.add(Language(id=f"lang-{index:06d}", service_id=sid, code="es", name="Spanish"))
            if index % 2000 == 0:
                session.flush()
        session.commit()


def brute_force(session: Session, point: tuple[float, float], radius: float, term: str) -> list[str]:
    """What a directory without indexes does: read everything, filter and sort in Python."""
    rows = session.execute(
        select(Service.id, Service.name, Location.latitude, Location.longitude, Attribute.taxonomy_term_id)
        .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .join(Attribute, Attribute.link_id == Service.id)
    ).all()
    best: dict[str, tuple[float, str]] = {}
    for service_id, name, lat, lon, term_id in rows:
        if term_id != term or lat is None:
            continue
        distance = haversine_km(point[0], point[1], lat, lon)
        if distance <= radius and (service_id not in best or distance < best[service_id][0]):
            best[service_id] = (distance, name)
    ordered = sorted(best, key=lambda s: (best[s][0], best[s][1].casefold(), s))
    return ordered[:20]


def timed(function, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, result


def run(label: str, engine: Engine, services: int, repeat: int) -> None:
    build(engine, services)
    rng = random.Random(11)
    indexed_ms, brute_ms = [], []
    with Session(engine) as session:
        located = session.scalar(text("SELECT count(*) FROM hsds_location WHERE latitude IS NOT NULL"))
        for _ in range(5):
            lat0, lon0, spread = rng.choice(BOROUGHS)
            point = (lat0 + rng.gauss(0, spread), lon0 + rng.gauss(0, spread))
            term = f"term-{rng.randrange(20):02d}"
            query = SearchQuery(near=point, radius_km=5, need=term, per_page=20)
            ms, page = timed(lambda q=query: search(session, q), repeat)
            bms, expected = timed(lambda p=point, t=term: brute_force(session, p, 5, t), max(3, repeat // 5))
            assert [r.service_id for r in page.results] == expected, "indexed and brute-force answers differ"  # type: ignore[attr-defined]
            indexed_ms.append(ms)
            brute_ms.append(bms)
    indexed, brute = statistics.median(indexed_ms), statistics.median(brute_ms)
    print(
        f"{label:<11} located services={located:>6}  search(near, 5 km, need) median {indexed:7.2f} ms   "
        f"brute-force scan {brute:8.2f} ms   ratio {brute / indexed:5.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5400)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_d2_search")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite = create_engine(f"sqlite:///{folder}/bench.db")
        run("SQLite", sqlite, args.services, args.repeat)
        sqlite.dispose()
    try:
        pg = create_engine(args.pg_url, connect_args={"options": "-csearch_path=bench,public"})
        with pg.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
            connection.execute(text("CREATE SCHEMA bench"))
    except Exception as error:
        print(f"PostgreSQL   skipped: {error}")
        return
    try:
        run("PostgreSQL", pg, args.services, args.repeat)
    finally:
        with pg.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
        pg.dispose()


if __name__ == "__main__":
    main()
