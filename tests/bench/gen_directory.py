"""Generate a large, realistically clustered HSDS directory and bulk-load it (bench and property tests).

Shape (deterministic for a seed):

* **Places.** Neighbourhoods are real US ZIP-code centroids (``zipcodes``, offline; the 48 contiguous
  states), drawn with weight ``sqrt(ZIPs in the same city)`` so big cities get more than their already
  dense ZIP grid: 10 miles around Manhattan holds about 2 % of all sites, a rural county a handful.
  A city is the ZIPs sharing a city name and state. Buildings sit around their neighbourhood centroid
  (Gaussian, σ ≈ 1 km); 35 % of new sites reuse a building of the neighbourhood (several services at
  one location row, as in the NYC set — so equal distances are common and tie-breaking is exercised).
* **Services.** 1–4 sites each (mean ≈ 1.6), in the service's city; one organization per ~8 services.
  Names come from a small vocabulary (many duplicates, mixed case, a few accented). Taxonomy: 10
  needs × 6 narrower terms; each service has 1–2 narrower terms and sometimes the need itself.
  Languages: Spanish on 35 % of services, a few others, and location-level languages on 10 % of
  sites. Ages, costs (zero / priced / "free" fee text), referral status, 3 % inactive services.
* **Hours.** Seven weekly patterns (9–5 weekdays, evenings, weekends, a night shelter across
  midnight, 24 hours, …) on 75 % of services, some on the location or the service-at-location
  instead, some with an explicit ``timezone``; every site has a physical address with its ZIP.

``service-locations`` (the size asked for) counts ``service_at_location`` rows. Rows stream out in
batches (``generate``) so a million-row directory never sits in memory; :class:`Truth` optionally
records what brute-force checks need. Loaders: SQLite ``executemany`` in one transaction with bulk
PRAGMAs, PostgreSQL ``COPY``; both create the schema first and the search extras
(``resource_directory.ddl.create_extras``: FTS, spatial index, denormalised search tables) after the
rows, set-wise, which is far faster than firing the per-row triggers a million times.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from resource_directory.ddl import create_extras, drop_extras
from resource_directory.models import Base

# Table → insert columns, in load order (owners first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "hsds_taxonomy": ("id", "name", "description"),
    "hsds_taxonomy_term": ("id", "code", "name", "description", "parent_id", "taxonomy_id"),
    "hsds_organization": ("id", "name", "description"),
    "hsds_service": (
        "id",
        "organization_id",
        "name",
        "description",
        "status",
        "minimum_age",
        "maximum_age",
        "fees_description",
        "referral_status",
        "assured_date",
    ),
    "hsds_location": ("id", "location_type", "name", "latitude", "longitude", "geocode_source"),
    "hsds_service_at_location": ("id", "service_id", "location_id"),
    "hsds_address": (
        "id",
        "location_id",
        "address_1",
        "city",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    ),
    "hsds_attribute": ("id", "link_id", "taxonomy_term_id", "link_type", "link_entity"),
    "hsds_language": ("id", "service_id", "location_id", "name", "code"),
    "hsds_cost_option": ("id", "service_id", "amount", "currency"),
    "hsds_phone": ("id", "service_id", "number"),
    "hsds_schedule": (
        "id",
        "service_id",
        "location_id",
        "service_at_location_id",
        "freq",
        "byday",
        "opens_at",
        "closes_at",
        "timezone",
    ),
}

NEEDS = (
    "food",
    "housing",
    "health",
    "legal",
    "employment",
    "education",
    "transport",
    "childcare",
    "utilities",
    "mental",
)
LANGUAGES = (("es", "Spanish", 0.35), ("zh", "Chinese", 0.06), ("ru", "Russian", 0.03), ("vi", "Vietnamese", 0.03))
HOURS = (
    ("WEEKLY", "MO,TU,WE,TH,FR", "09:00", "17:00"),
    ("WEEKLY", "MO,TU,WE,TH,FR", "08:00", "20:00"),
    ("WEEKLY", "SA,SU", "10:00", "14:00"),
    ("WEEKLY", "MO,WE,FR", "13:00", "19:00"),
    ("WEEKLY", "SU,MO,TU,WE,TH,FR,SA", "20:00", "08:00"),  # night shelter: closes the next morning
    ("WEEKLY", "SU,MO,TU,WE,TH,FR,SA", "00:00", "00:00"),  # 24 hours (HSDS 3.0 freq is WEEKLY or MONTHLY)
    ("WEEKLY", "TU,TH", "09:30", "12:30"),
)
_WORDS_A = ("Community", "Neighborhood", "Family", "Youth", "Senior", "Downtown", "Eastside", "Clínica", "St. Mary's")
_WORDS_B = ("Pantry", "Clinic", "Shelter", "Legal Aid", "Job Center", "Tutoring", "Rides", "Daycare", "Help Desk")
_SPREAD_KM = 1.0


def term_id(index: int) -> str:
    return f"00000001-0000-4000-8000-{index:012x}"


def need_term_id(need: str) -> str:
    """The taxonomy term id of a need (its narrower terms match a search for it too)."""
    return term_id(NEEDS.index(need))


def _uid(table: int, index: int) -> str:
    return f"{table:08x}-0000-4000-8000-{index:012x}"


@dataclass(frozen=True)
class Neighbourhood:
    zip_code: str
    lat: float
    lon: float
    city: str
    state: str
    timezone: str | None


def neighbourhoods() -> tuple[list[Neighbourhood], list[float], dict[tuple[str, str], list[int]]]:
    """ZIP centroids of the contiguous US, their draw weights, and ZIP indexes per city."""
    global _CACHE
    if _CACHE is not None:
        return _CACHE
    import zipcodes

    places: list[Neighbourhood] = []
    for row in zipcodes.list_all():
        if row["zip_code_type"] != "STANDARD" or not row["lat"]:
            continue
        lat, lon = float(row["lat"]), float(row["long"])
        if not (24.0 < lat < 50.0 and -125.0 < lon < -66.0):
            continue
        places.append(Neighbourhood(row["zip_code"], lat, lon, row["city"], row["state"], row["timezone"] or None))
    cities: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, place in enumerate(places):
        cities[(place.city, place.state)].append(index)
    weights = [math.sqrt(len(cities[(p.city, p.state)])) for p in places]
    _CACHE = (places, weights, dict(cities))
    return _CACHE


_CACHE: tuple[list[Neighbourhood], list[float], dict[tuple[str, str], list[int]]] | None = None


@dataclass
class Truth:
    """What a brute-force check needs, recorded while generating (only for test-sized directories)."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    sal: list[tuple[str, str, str]] = field(default_factory=list)  # (sal_id, service_id, location_id)
    schedules: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    terms: dict[str, str | None] = field(default_factory=dict)  # term id → parent id


def taxonomy_rows() -> dict[str, list[tuple[Any, ...]]]:
    taxonomy = "00000000-0000-4000-8000-000000000001"
    terms: list[tuple[Any, ...]] = []
    for index, need in enumerate(NEEDS):
        terms.append((term_id(index), f"N{index}", need.title(), need, None, taxonomy))
    for index, need in enumerate(NEEDS):
        for child in range(6):
            number = len(NEEDS) + index * 6 + child
            terms.append(
                (term_id(number), f"N{index}-{child}", f"{need.title()} {child}", need, term_id(index), taxonomy)
            )
    return {"hsds_taxonomy": [(taxonomy, "Generated needs", "bench taxonomy")], "hsds_taxonomy_term": terms}


def generate(
    service_locations: int, seed: int = 1, truth: Truth | None = None
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Yield batches of rows (table → tuples in :data:`COLUMNS` order) until ``service_locations`` are made."""
    rng = random.Random(seed)
    places, weights, cities = neighbourhoods()
    cumulative = list(_accumulate(weights))
    first = taxonomy_rows()
    if truth is not None:
        truth.terms = {row[0]: row[4] for row in first["hsds_taxonomy_term"]}
    yield first
    buildings: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    counters = defaultdict(int)
    made = 0
    organization = ""
    while made < service_locations:
        batch: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for _ in range(2000):
            if made >= service_locations:
                break
            number = counters["service"]
            counters["service"] += 1
            if number % 8 == 0:
                organization = _uid(2, number // 8)
                batch["hsds_organization"].append((organization, f"Provider {number // 8}", "generated"))
            service_id = _uid(3, number)
            name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)}" + (
                f" {rng.randint(1, 60)}" if rng.random() < 0.7 else ""
            )
            if rng.random() < 0.2:
                name = name.upper() if rng.random() < 0.5 else name.lower()
            minimum_age = maximum_age = None
            roll = rng.random()
            if roll < 0.1:
                minimum_age, maximum_age = 0.0, 17.0
            elif roll < 0.18:
                minimum_age = 60.0
            elif roll < 0.25:
                minimum_age, maximum_age = 18.0, 24.0
            status = "inactive" if rng.random() < 0.03 else "active"
            referral = rng.choices(("accepting", "waitlist", "paused"), (0.8, 0.15, 0.05))[0]
            fees = None
            cost = rng.random()
            if cost < 0.35:
                batch["hsds_cost_option"].append((_uid(10, number), service_id, 0.0, "USD"))
            elif cost < 0.5:
                batch["hsds_cost_option"].append((_uid(10, number), service_id, float(rng.randint(5, 80)), "USD"))
            elif cost < 0.6:
                fees = rng.choice(("Free for residents", "No cost to families", "Sliding scale"))
            free = cost < 0.35 or (0.5 <= cost < 0.6 and fees != "Sliding scale")
            assured = date(2024, 1, 1).toordinal() + rng.randint(0, 500)
            batch["hsds_service"].append(
                (
                    service_id,
                    organization,
                    name,
                    "generated service",
                    status,
                    minimum_age,
                    maximum_age,
                    fees,
                    referral,
                    date.fromordinal(assured),
                )
            )
            need = rng.randrange(len(NEEDS))
            service_terms = {term_id(len(NEEDS) + need * 6 + rng.randrange(6))}
            if rng.random() < 0.3:
                service_terms.add(term_id(len(NEEDS) + rng.randrange(len(NEEDS)) * 6 + rng.randrange(6)))
            if rng.random() < 0.1:
                service_terms.add(term_id(need))
            for index, term in enumerate(sorted(service_terms)):
                batch["hsds_attribute"].append(
                    (_uid(7, number * 4 + index), service_id, term, "service_type", "service")
                )
            languages = []
            for code, language, share in LANGUAGES:
                if rng.random() < share:
                    languages.append(code)
                    batch["hsds_language"].append((_uid(8, counters["language"]), service_id, None, language, code))
                    counters["language"] += 1
            batch["hsds_phone"].append((_uid(11, number), service_id, f"555-{number % 10000:04d}"))
            hours = None
            if rng.random() < 0.75:
                hours = rng.choice(HOURS)
            owner = rng.random()
            timezone = rng.choice((None, None, None, "America/Chicago", "-5"))
            # The service's city, then its sites (1-4, mean ≈ 1.6).
            home = places[_draw(rng, cumulative)]
            city = cities[(home.city, home.state)]
            site_count = rng.choices((1, 2, 3, 4), (0.6, 0.25, 0.1, 0.05))[0]
            used: set[str] = set()
            for _site in range(site_count):
                if made >= service_locations:
                    break
                place_index = rng.choice(city)
                place = places[place_index]
                nearby = buildings[place_index]
                if nearby and rng.random() < 0.35:
                    location_id, lat, lon = rng.choice(nearby)
                    if location_id in used:
                        continue
                else:
                    location_id = _uid(4, counters["location"])
                    counters["location"] += 1
                    lat = round(place.lat + rng.gauss(0, _SPREAD_KM / 111.2), 6)
                    lon = round(place.lon + rng.gauss(0, _SPREAD_KM / (111.2 * math.cos(math.radians(place.lat)))), 6)
                    nearby.append((location_id, lat, lon))
                    batch["hsds_location"].append((location_id, "physical", f"Site {place.zip_code}", lat, lon, "data"))
                    batch["hsds_address"].append(
                        (
                            _uid(5, counters["location"]),
                            location_id,
                            f"{rng.randint(1, 999)} Main St",
                            place.city,
                            place.state,
                            place.zip_code,
                            "US",
                            "physical",
                        )
                    )
                    location_languages = []
                    if rng.random() < 0.1:
                        code, language, _ = rng.choice(LANGUAGES)
                        location_languages.append(code)
                        batch["hsds_language"].append(
                            (_uid(8, counters["language"]), None, location_id, language, code)
                        )
                        counters["language"] += 1
                    location_hours = HOURS[counters["location"] % len(HOURS)] if rng.random() < 0.3 else None
                    if location_hours is not None:
                        _schedule(batch, counters, truth, location_hours, None, ("location_id", location_id))
                    if truth is not None:
                        truth.locations[location_id] = {
                            "lat": lat,
                            "lon": lon,
                            "languages": set(location_languages),
                            "zip": place.zip_code,
                        }
                used.add(location_id)
                sal_id = _uid(6, counters["sal"])
                counters["sal"] += 1
                made += 1
                batch["hsds_service_at_location"].append((sal_id, service_id, location_id))
                if hours is not None and owner < 0.05:
                    _schedule(batch, counters, truth, hours, timezone, ("service_at_location_id", sal_id))
                if truth is not None:
                    truth.sal.append((sal_id, service_id, location_id))
            if hours is not None and owner >= 0.05:
                _schedule(batch, counters, truth, hours, timezone, ("service_id", service_id))
            if truth is not None:
                truth.services[service_id] = {
                    "name": name,
                    "active": status == "active",
                    "terms": service_terms,
                    "languages": set(languages),
                    "min_age": minimum_age,
                    "max_age": maximum_age,
                    "free": free,
                    "accepting": referral == "accepting",
                }
        yield batch


def _schedule(
    batch: dict[str, list[tuple[Any, ...]]],
    counters: dict[str, int],
    truth: Truth | None,
    hours: tuple[str, str | None, str, str],
    timezone: str | None,
    owner: tuple[str, str],
) -> None:
    freq, byday, opens, closes = hours
    owners = {"service_id": None, "location_id": None, "service_at_location_id": None, owner[0]: owner[1]}
    batch["hsds_schedule"].append(
        (
            _uid(9, counters["schedule"]),
            owners["service_id"],
            owners["location_id"],
            owners["service_at_location_id"],
            freq,
            byday,
            opens,
            closes,
            timezone,
        )
    )
    counters["schedule"] += 1
    if truth is not None:
        truth.schedules[owner].append(
            {"freq": freq, "byday": byday, "opens_at": opens, "closes_at": closes, "timezone": timezone}
        )


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _draw(rng: random.Random, cumulative: list[float]) -> int:
    import bisect

    return bisect.bisect_left(cumulative, rng.random() * cumulative[-1])


def draw_point(rng: random.Random) -> tuple[float, float]:
    """A search point where people are: an urban-weighted neighbourhood, a little off its centroid."""
    places, weights, _ = neighbourhoods()
    place = places[_draw(rng, list(_accumulate(weights)))]
    return place.lat + rng.gauss(0, 0.01), place.lon + rng.gauss(0, 0.01)


@dataclass
class LoadStats:
    service_locations: int
    rows: int
    insert_s: float
    index_s: float

    @property
    def total_s(self) -> float:
        return self.insert_s + self.index_s

    @property
    def per_second(self) -> float:
        return self.service_locations / self.total_s if self.total_s else 0.0


def load(engine: Engine, service_locations: int, seed: int = 1, truth: Truth | None = None) -> LoadStats:
    """Bulk-load a generated directory into an empty directory schema (created here if missing)."""
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        # A migrated database (the hub's) already has the triggers: drop them so the load does not fire
        # them row by row; create_extras() below rebuilds everything set-wise.
        drop_extras(connection)
    # Secondary indexes are built once after the load (a sorted build), not maintained row by row.
    indexes = [index for table in Base.metadata.sorted_tables for index in table.indexes]
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    started = time.perf_counter()
    rows = 0
    made = 0
    if engine.dialect.name == "postgresql":
        rows, made = _load_postgresql(engine, service_locations, seed, truth)
    else:
        rows, made = _load_sqlite(engine, service_locations, seed, truth)
    inserted = time.perf_counter()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Index builds sort in memory instead of spilling 6 million keys to disk (this session only).
            connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for index in indexes:
            index.create(connection)
        create_extras(connection)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))  # planner statistics; autovacuum does the rest later
    return LoadStats(made, rows, inserted - started, time.perf_counter() - inserted)


def _load_sqlite(engine: Engine, service_locations: int, seed: int, truth: Truth | None) -> tuple[int, int]:
    rows = made = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Bulk-load settings for this one connection: one transaction, no fsync per page. Safe for a
        # generated directory (a crash means generating it again), not for real data.
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA cache_size = -200000")
        cursor.execute("PRAGMA foreign_keys = OFF")
        statements = {
            table: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for table, cols in COLUMNS.items()
        }
        for batch in generate(service_locations, seed, truth):
            for table, values in _ordered(batch):
                cursor.executemany(statements[table], [_sqlite_values(v) for v in values])
                rows += len(values)
            made += len(batch.get("hsds_service_at_location", ()))
        raw.commit()
    finally:
        raw.close()
    return rows, made


def _sqlite_values(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.isoformat() if isinstance(v, date) else v for v in values)


def _load_postgresql(engine: Engine, service_locations: int, seed: int, truth: Truth | None) -> tuple[int, int]:
    rows = made = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for batch in generate(service_locations, seed, truth):
            for table, values in _ordered(batch):
                with cursor.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
                    copy.write("".join(_copy_line(value) for value in values))
                rows += len(values)
            made += len(batch.get("hsds_service_at_location", ()))
        raw.commit()
    finally:
        raw.close()
    return rows, made


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY text format (formatted here in bulk: much faster than ``write_row`` per row)."""
    fields = []
    for value in values:
        if value is None:
            fields.append("\\N")
        elif isinstance(value, str):
            fields.append(value.translate(_COPY_ESCAPES))
        elif isinstance(value, date):
            fields.append(value.isoformat())
        else:
            fields.append(repr(value))
    return "\t".join(fields) + "\n"


def _ordered(batch: dict[str, list[tuple[Any, ...]]]) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    for table in COLUMNS:
        if batch.get(table):
            yield table, batch[table]


@dataclass
class PackageStats:
    service_locations: int
    rows: int
    seconds: float


def write_tabular_package(
    folder: Path, service_locations: int, seed: int = 1, truth: Truth | None = None
) -> PackageStats:
    """Write a generated directory as an HSDS 3.0 Tabular Data Package (CSV + ``datapackage.json``).

    Why: the hub's importer (``resource_directory.importer.import_path``) reads feeds, not COPY streams, so
    timing *it* needs a feed of the bench's size. Files and columns follow the official 3.0 descriptor
    (every field of each resource, empty where the generator has no value), as a steward's export would;
    hub-only columns (``referral_status``, ``geocode_source``) are not HSDS and are left out, as
    ``export_tabular`` does.
    """
    import csv

    from resource_directory.hsds_tabular import official_descriptor
    from resource_directory.importer import render_value

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = official_descriptor()
    resources = {r["name"]: r for r in descriptor["resources"]}
    handles: dict[str, Any] = {}
    writers: dict[str, Any] = {}
    positions: dict[str, list[int | None]] = {}
    rows = made = 0
    try:
        for table, columns in COLUMNS.items():
            resource = resources[table.removeprefix("hsds_")]
            fields = [f["name"] for f in resource["schema"]["fields"]]
            handles[table] = (folder / resource["path"]).open("w", encoding="utf-8", newline="")
            writers[table] = csv.writer(handles[table], lineterminator="\n")
            writers[table].writerow(fields)
            positions[table] = [columns.index(f) if f in columns else None for f in fields]
        for batch in generate(service_locations, seed, truth):
            for table, values in _ordered(batch):
                where = positions[table]
                writers[table].writerows(
                    [["" if i is None else render_value(value[i]) for i in where] for value in values]
                )
                rows += len(values)
            made += len(batch.get("hsds_service_at_location", ()))
    finally:
        for handle in handles.values():
            handle.close()
    descriptor["resources"] = [resources[t.removeprefix("hsds_")] for t in COLUMNS]
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2) + "\n", encoding="utf-8")
    return PackageStats(made, rows, time.perf_counter() - started)
