"""Issue 5 acceptance: on a generated 100,000-location directory, random searches return exactly the
brute-force haversine answer — same ids, same locations, same distances, same order, same totals —
on SQLite and on PostgreSQL.

The directory (``tests/bench/gen_directory.py``) is clustered like a real one: US ZIP-code
neighbourhoods weighted towards big cities, several services per building (so equal distances and
name tie-breaks are common), multi-site services, taxonomy needs with narrower terms, service- and
location-level languages, ages, costs, referral states, inactive services and weekly hours (also
across midnight and with explicit time zones). It is bulk-loaded once per test session and database
(well under a minute each), then searched from random points near the data with random radii and
random combinations of need, language, age, free, accepting and open-at.

The expected answer is computed in plain Python over every service-at-location row, with the
definitions the engine documents: haversine ≤ radius; the service's best location is the nearest
(then smallest location id); order by distance, then name (ASCII case folded), then service id;
open-at uses the most specific schedules (service-at-location, service, location) in the location's
ZIP time zone.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from resource_directory.ddl import name_sort_key
from resource_directory.geocoding.offline import zip_info
from resource_directory.geocoding.points import haversine_km
from resource_directory.search import SearchQuery, search
from resource_directory.search.schedule import open_status
from tests.bench.gen_directory import NEEDS, Truth, load, need_term_id, term_id
from tests.resource_directory.conftest import PG_URL, REQUIRE_SERVICES, _ensure_pg_database

SIZE = int(os.environ.get("HUB_DIRECTORY_PROPERTY_SIZE", "100000"))
SEED = 5
QUERIES = 40
UTC_ZONE = ZoneInfo("UTC")
MOMENTS = [
    datetime(2024, 5, 6, 10, 0, tzinfo=ZoneInfo("America/New_York")),  # Monday morning
    datetime(2024, 5, 11, 12, 30, tzinfo=ZoneInfo("America/Los_Angeles")),  # Saturday noon
    datetime(2024, 5, 8, 2, 0, tzinfo=ZoneInfo("America/Chicago")),  # Wednesday night
]

_truth: Truth | None = None


@dataclass(frozen=True)
class _Hours:
    freq: str | None
    byday: str | None
    opens_at: str | None
    closes_at: str | None
    timezone: str | None


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A bulk-loaded generated directory (one per database and test session)."""
    global _truth
    record = Truth() if _truth is None else None
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('directory100k') / 'directory.db'}")
        assert load(engine, SIZE, SEED, record).service_locations == SIZE
        _truth = _truth or record
        yield engine
        engine.dispose()
        return
    schema = f"p100k_{os.getpid()}"
    try:
        _ensure_pg_database(PG_URL)
        engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema},public"})
        with engine.begin() as connection:
            _drop_stale_schemas(connection)
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # any connection failure
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL required (REFERRAL_HUB_REQUIRE_SERVICES=1) but unreachable: {error}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {error}")
    try:
        assert load(engine, SIZE, SEED, record).service_locations == SIZE
        _truth = _truth or record
        yield engine
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _drop_stale_schemas(connection: Any) -> None:
    """Drop generated directories left behind by killed runs (their process no longer exists)."""
    for (name,) in connection.execute(text(r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^p100k_[0-9]+$'")):
        try:
            os.kill(int(name[6:]), 0)
        except ProcessLookupError:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        except PermissionError:
            pass


def _expanded(need: str | None, truth: Truth) -> set[str] | None:
    if need is None:
        return None
    return {need} | {child for child, parent in truth.terms.items() if parent == need}


def _brute_force(truth: Truth, query: SearchQuery, moment: datetime | None) -> list[tuple[str, str, float]]:
    """(service id, location id, distance) of every matching service, in result order."""
    assert isinstance(query.near, tuple)
    lat0, lon0 = query.near
    needed = _expanded(query.need, truth)
    cache: dict[tuple[Any, ...], bool] = {}
    best: dict[str, tuple[float, str]] = {}
    for sal_id, service_id, location_id in truth.sal:
        service = truth.services[service_id]
        location = truth.locations[location_id]
        if not service["active"]:
            continue
        if needed is not None and not (service["terms"] & needed):
            continue
        if query.language is not None and query.language not in service["languages"] | location["languages"]:
            continue
        if query.age is not None and not (
            (service["min_age"] is None or service["min_age"] <= query.age)
            and (service["max_age"] is None or service["max_age"] >= query.age)
        ):
            continue
        if query.free_only and not service["free"]:
            continue
        if query.accepting_only and not service["accepting"]:
            continue
        distance = haversine_km(lat0, lon0, location["lat"], location["lon"])
        if query.radius_km is not None and distance > query.radius_km:
            continue
        if moment is not None and not _is_open(truth, sal_id, service_id, location_id, moment, cache):
            continue
        if service_id not in best or (distance, location_id) < best[service_id]:
            best[service_id] = (distance, location_id)
    order = sorted(best, key=lambda s: (best[s][0], name_sort_key(truth.services[s]["name"]), s))
    return [(s, best[s][1], best[s][0]) for s in order]


def _is_open(
    truth: Truth, sal_id: str, service_id: str, location_id: str, moment: datetime, cache: dict[tuple[Any, ...], bool]
) -> bool:
    schedules: list[dict[str, Any]] = []
    for owner in (("service_at_location_id", sal_id), ("service_id", service_id), ("location_id", location_id)):
        schedules = truth.schedules.get(owner, [])
        if schedules:
            break
    place = zip_info(truth.locations[location_id]["zip"])
    zone: tzinfo = ZoneInfo(place.timezone) if place and place.timezone else UTC_ZONE
    hours = tuple(_Hours(**s) for s in schedules)
    key = (hours, zone)
    if key not in cache:
        cache[key] = open_status(hours, moment, zone).is_open
    return cache[key]


def _random_query(rng: random.Random, truth: Truth, locations: list[str]) -> tuple[SearchQuery, datetime | None]:
    anchor = truth.locations[rng.choice(locations)]
    point = (anchor["lat"] + rng.gauss(0, 0.03), anchor["lon"] + rng.gauss(0, 0.03))
    need = rng.choice([None, None, need_term_id(rng.choice(NEEDS)), term_id(len(NEEDS) + rng.randrange(60))])
    moment = rng.choice(MOMENTS) if rng.random() < 0.25 else None
    query = SearchQuery(
        near=point,
        radius_km=rng.choice([0.5, 2.0, 5.0, 10.0, 16.09344, 30.0]),
        need=need,
        language=rng.choice([None, None, "es", "zh"]),
        age=rng.choice([None, None, None, 8, 30, 70]),
        free_only=rng.random() < 0.15,
        accepting_only=rng.random() < 0.15,
        open_at=moment,
        per_page=50,
    )
    return query, moment


def _page(session: Session, query: SearchQuery, page: int) -> Any:
    fields = {name: getattr(query, name) for name in SearchQuery.__dataclass_fields__ if name != "language_info"}
    return search(session, SearchQuery(**{**fields, "page": page}))


def _assert_clustered_like_a_real_directory(engine: Engine) -> None:
    """Dense cities and sparse countryside: the busiest 0.1° × 1° cell dwarfs the median one.

    (Checked inside the one test per database: with pytest-xdist every test may run on another
    worker, and each worker would generate its own 100,000-location directory.)
    """
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM hsds_service_at_location")).scalar_one() == SIZE
        cells = connection.execute(
            text("SELECT count(*) FROM hsds_search_location GROUP BY lat_band, CAST(longitude AS INTEGER)")
        ).scalars()
        counts = sorted(cells, reverse=True)
    assert counts[0] > 20 * counts[len(counts) // 2]


@pytest.mark.slow
def test_random_searches_equal_brute_force_haversine_on_100k_locations(generated: Engine) -> None:
    truth = _truth
    assert truth is not None
    assert len(truth.sal) == SIZE
    _assert_clustered_like_a_real_directory(generated)
    rng = random.Random(20240506)
    locations = sorted(truth.locations)
    non_empty = 0
    with Session(generated) as session:
        for _ in range(QUERIES):
            query, moment = _random_query(rng, truth, locations)
            expected = _brute_force(truth, query, moment)
            first = _page(session, query, 1)
            assert first.total == len(expected), query
            pages = [1] if first.total_pages == 1 else [1, rng.randint(2, first.total_pages), first.total_pages]
            for number in sorted(set(pages)):
                page = first if number == 1 else _page(session, query, number)
                start = (number - 1) * query.per_page
                got = [(r.service_id, r.location_id, r.distance_km) for r in page.results]
                assert got == expected[start : start + query.per_page], (query, number)
            non_empty += bool(expected)
    assert non_empty >= QUERIES // 3  # many random searches find something: they test real work
