"""The one SQL statement that finds a page of results in the denormalised search tables.

Everything a filter needs is a column of ``hsds_search_location`` / ``hsds_search_term`` (see
``resource_directory.ddl``), so one statement filters, measures, keeps each service's best location,
orders, counts and cuts the page — no Python pass over the candidates:

* **need** reads ``hsds_search_term`` on ``(term_key, lat_band, longitude)``: only rows of the needed
  terms near the point are touched;
* **distance** is haversine computed in SQL, bit-for-bit the formula of
  :func:`resource_directory.geocoding.points.haversine_km` (PostgreSQL: the same libm calls in the same
  order, with the point's own terms computed in Python; SQLite: the same SQL with its built-in math
  functions, or, in builds without them, that very Python function registered on the connection), so the
  radius boundary and the order are exactly those of a brute-force scan;
* **best location per service** is ``row_number() OVER (PARTITION BY service_id …)``;
* **total** is ``count(*) OVER ()`` of the deduplicated rows, computed before ``LIMIT``.

Ties are broken by ``name_key`` then ``service_id`` (then ``location_id`` within a service), compared
bytewise on both engines (``COLLATE "C"`` on PostgreSQL), so pages are stable and identical everywhere.
"""

# SQL here is assembled from module constants, column names and bound-parameter names, never from user
# input (every value is a bound parameter), so the S608 "string-built SQL" warning does not apply.
# ruff: noqa: S608

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection

from resource_directory.ddl import (
    FTS_TABLE,
    PG_SEARCH_TABLE,
    PG_TEXT_CONFIG,
    SEARCH_LOCATION_TABLE,
    SEARCH_TERM_KEY_TABLE,
    SEARCH_TERM_TABLE,
    lat_band_sql,
)
from resource_directory.geocoding.points import EARTH_RADIUS_KM, bounding_box, haversine_km

_DEG = math.radians(1.0)  # math.radians(x) is x * this constant: the SQL multiplies by the same double
_TWO_R = 2 * EARTH_RADIUS_KM


def prepare_connection(connection: Connection) -> None:
    """Register ``hsds_haversine_km`` on a SQLite connection (once per DB-API connection)."""
    if connection.dialect.name != "sqlite":
        return
    pooled = connection.connection  # ``info`` lives as long as the DB-API connection
    if pooled.info.get("hsds_haversine_km") or pooled.dbapi_connection is None:
        return
    pooled.dbapi_connection.create_function("hsds_haversine_km", 4, haversine_km, deterministic=True)
    pooled.info["hsds_haversine_km"] = True


def in_list(dialect: str, column: str, param: str) -> str:
    """``column`` is one of the values bound to ``param`` (see :func:`list_param`); stable SQL text."""
    if dialect == "postgresql":
        return f"{column} = ANY(:{param})"
    return f"{column} IN (SELECT value FROM json_each(:{param}))"


def list_param(dialect: str, values: Sequence[Any]) -> Any:
    return list(values) if dialect == "postgresql" else json.dumps(list(values))


# A need given as a term id (or, when no term has that id, a term code) and every narrower term.
NEED_CTE = (
    "WITH RECURSIVE found(id) AS (SELECT id FROM hsds_taxonomy_term WHERE id = :need OR (code = :need"
    " AND NOT EXISTS (SELECT 1 FROM hsds_taxonomy_term WHERE id = :need))"
    " UNION SELECT t.id FROM hsds_taxonomy_term t JOIN found f ON t.parent_id = f.id) "
)
_NEED_KEYS = f"SELECT k.term_key FROM {SEARCH_TERM_KEY_TABLE} k JOIN found f ON k.term_id = f.id"


@dataclass
class PageFilters:
    """What the statement filters on, already resolved (terms to keys, language to codes, …)."""

    term_keys: list[int] | None = None  # None: no need filter by keys
    need_ref: str | None = None  # a term id or code, expanded inside the statement (saves a round trip)
    fts_match: str | None = None  # SQLite FTS5 expression
    pg_text: str | None = None  # PostgreSQL websearch text
    text_matches_nothing: bool = False
    language_codes: list[str] = field(default_factory=list)
    language_name: str | None = None
    age: float | None = None
    free_only: bool = False
    accepting_only: bool = False
    covering_ids: list[str] | None = None  # None: no coverage filter
    near: tuple[float, float] | None = None
    radius_km: float | None = None


@dataclass(slots=True)
class PageRow:
    service_id: str
    sal_id: str | None
    location_id: str | None
    latitude: float | None
    longitude: float | None
    distance_km: float | None
    rank: float


def _collate(dialect: str, column: str) -> str:
    return f'{column} COLLATE "C"' if dialect == "postgresql" else column


@lru_cache(maxsize=1)
def sqlite_has_math() -> bool:
    """Whether this process's SQLite has the built-in math functions (``SQLITE_ENABLE_MATH_FUNCTIONS``).

    They call the same libm functions as :mod:`math`, so the SQL formula gives bit-for-bit the distance of
    :func:`haversine_km` -- evaluated in C instead of one Python call per candidate row (and SQLite may
    evaluate the distance more than once per row: in the radius filter, the window and the final order).
    One library per process, so one check is enough.
    """
    with closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("SELECT sin(0.5), asin(0.5), sqrt(0.5), power(0.5, 2)").fetchone()
        except sqlite3.OperationalError:
            return False
    return True


def _distance_sql(dialect: str) -> str:
    if dialect == "sqlite" and not sqlite_has_math():
        return "hsds_haversine_km(:lat, :lon, x.latitude, x.longitude)"
    # haversine_km(lat1, lon1, lat2, lon2) with lat1/lon1 = the point: phi1 and cos(phi1) come from Python.
    # Same operations in the same order as the Python function (x ** 2 is pow(x, 2) there too).
    dphi = "(x.latitude * :deg - :phi1)"
    dlambda = "((x.longitude - :lon) * :deg)"
    a = f"power(sin({dphi} / 2), 2) + :cos_phi1 * cos(x.latitude * :deg) * power(sin({dlambda} / 2), 2)"
    least = "least(CAST(1 AS double precision), " if dialect == "postgresql" else "min(1.0, "
    return f":two_r * asin({least}sqrt({a})))"


def _hits_sql(dialect: str, filters: PageFilters, params: dict[str, Any]) -> str:
    """SELECT of matching (service, location) rows with distance and text rank, before deduplication."""
    by_term = filters.term_keys is not None or filters.need_ref is not None
    table = SEARCH_TERM_TABLE if by_term else SEARCH_LOCATION_TABLE
    conditions: list[str] = []
    joins = ""
    rank = "CAST(0 AS double precision)" if dialect == "postgresql" else "0.0"
    if filters.term_keys is not None:
        conditions.append(in_list(dialect, "x.term_key", "term_keys"))
        params["term_keys"] = list_param(dialect, filters.term_keys)
    if filters.need_ref is not None:
        params["need"] = filters.need_ref
        # PostgreSQL: ARRAY(…) becomes one value computed first, so the keys drive the index scan.
        keys = f"ANY(ARRAY({_NEED_KEYS}))" if dialect == "postgresql" else f"IN ({_NEED_KEYS})"
        conditions.append(f"x.term_key {'= ' if dialect == 'postgresql' else ''}{keys}")
    if filters.text_matches_nothing:
        conditions.append("1 = 0")
    elif filters.pg_text is not None:
        joins = (
            f" JOIN (SELECT d.service_id, ts_rank_cd(d.document, q.query) AS rank FROM {PG_SEARCH_TABLE} d,"
            f" websearch_to_tsquery(CAST('{PG_TEXT_CONFIG}' AS regconfig), unaccent(CAST(:text AS text))) q(query)"
            " WHERE d.document @@ q.query) tm ON tm.service_id = x.service_id"
        )
        rank = "tm.rank"
        params["text"] = filters.pg_text
    elif filters.fts_match is not None:
        # bm25 is "lower is better"; negated so that both engines rank "higher is better".
        # Column weights: service_id (unindexed), name ×10, everything else ×1.
        joins = (
            f" JOIN (SELECT service_id, -bm25({FTS_TABLE}, 0.0, 10.0, 1.0) AS rank FROM {FTS_TABLE}"
            f" WHERE {FTS_TABLE} MATCH :text) tm ON tm.service_id = x.service_id"
        )
        rank = "tm.rank"
        params["text"] = filters.fts_match
    if filters.language_codes or filters.language_name:
        position = "strpos" if dialect == "postgresql" else "instr"
        parts = []
        for index, code in enumerate(sorted(filters.language_codes)):
            params[f"lang_{index}"] = f"|{code.lower()}|"
            parts.append(f"{position}(x.lang_codes, :lang_{index}) > 0")
        if filters.language_name:
            params["lang_name"] = f"|{filters.language_name.lower()}|"
            parts.append(f"{position}(x.lang_names, :lang_name) > 0")
        conditions.append("(" + " OR ".join(parts) + ")")
    if filters.age is not None:
        params["age"] = filters.age
        conditions.append("(x.min_age IS NULL OR x.min_age <= :age) AND (x.max_age IS NULL OR x.max_age >= :age)")
    if filters.free_only:
        conditions.append("x.is_free = 1")
    if filters.accepting_only:
        conditions.append("x.referral_status = 'accepting'")
    if filters.covering_ids is not None:
        params["covering"] = list_param(dialect, filters.covering_ids)
        conditions.append(
            "(NOT EXISTS (SELECT 1 FROM hsds_service_area a WHERE a.service_id = x.service_id)"
            f" OR {in_list(dialect, 'x.service_id', 'covering')})"
        )
    distance = "NULL"
    if filters.near is not None:
        lat, lon = filters.near
        params.update(lat=lat, lon=lon)
        if dialect == "postgresql" or sqlite_has_math():
            phi1 = math.radians(lat)
            params.update(deg=_DEG, phi1=phi1, cos_phi1=math.cos(phi1), two_r=_TWO_R)
        distance = _distance_sql(dialect)
        conditions.append("x.latitude IS NOT NULL AND x.longitude IS NOT NULL")
        if filters.radius_km is not None:
            min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, filters.radius_km)
            params.update(min_lat=min_lat, max_lat=max_lat)
            conditions.append(
                f"x.lat_band BETWEEN {lat_band_sql(dialect, ':min_lat')} AND {lat_band_sql(dialect, ':max_lat')}"
            )
            if (min_lon, max_lon) != (-180.0, 180.0):
                params.update(min_lon=min_lon, max_lon=max_lon)
                conditions.append("x.longitude BETWEEN :min_lon AND :max_lon")
    where = " AND ".join(conditions) or "1 = 1"
    return (
        "SELECT x.service_id, x.sal_id, x.location_id, x.latitude, x.longitude, x.name_key,"
        f" {distance} AS distance_km, {rank} AS rank FROM {table} x{joins} WHERE {where}"
    )


def _orders(dialect: str, filters: PageFilters) -> tuple[str, str]:
    """(result order, order of one service's rows: the first is its best location)."""
    name, service, location = (_collate(dialect, c) for c in ("name_key", "service_id", "location_id"))
    if filters.near is not None:
        return f"distance_km, {name}, {service}", f"distance_km, {location}"
    within = f"(latitude IS NULL), (location_id IS NULL), {location}"  # located rows first, then smallest id
    if filters.fts_match is not None or filters.pg_text is not None:
        return f"rank DESC, {name}, {service}", within
    return f"{name}, {service}", within


def _with(filters: PageFilters) -> str:
    return NEED_CTE if filters.need_ref is not None else ""


def _kept_sql(dialect: str, filters: PageFilters, params: dict[str, Any]) -> str:
    hits = _hits_sql(dialect, filters, params)
    if filters.near is not None and filters.radius_km is not None:
        params["radius"] = filters.radius_km
        return f"SELECT * FROM ({hits}) h WHERE distance_km <= :radius"
    return hits


def page_statement(dialect: str, filters: PageFilters, offset: int, limit: int) -> tuple[str, dict[str, Any]]:
    """One page of best rows per service, each with the total number of matching services."""
    params: dict[str, Any] = {"offset": offset, "limit": limit}
    kept = _kept_sql(dialect, filters, params)
    order, within = _orders(dialect, filters)
    sql = _with(filters) + (
        f"SELECT service_id, sal_id, location_id, latitude, longitude, distance_km, rank, count(*) OVER () AS total"
        f" FROM (SELECT k.*, row_number() OVER (PARTITION BY service_id ORDER BY {within}) AS best FROM ({kept}) k) b"
        f" WHERE best = 1 ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    return sql, params


def count_statement(dialect: str, filters: PageFilters) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    kept = _kept_sql(dialect, filters, params)
    return _with(filters) + f"SELECT count(DISTINCT service_id) FROM ({kept}) k", params


def rows_statement(dialect: str, filters: PageFilters) -> tuple[str, dict[str, Any]]:
    """Every matching row, each service's best row first and services in result order (for open-now)."""
    params: dict[str, Any] = {}
    kept = _kept_sql(dialect, filters, params)
    order, within = _orders(dialect, filters)
    sql = _with(filters) + (
        "SELECT service_id, sal_id, location_id, latitude, longitude, distance_km, rank"
        f" FROM ({kept}) k ORDER BY {order}, {within}"
    )
    return sql, params


@lru_cache(maxsize=1024)
def statement(sql: str) -> TextClause:
    """A parsed ``text()`` per distinct SQL string: parsing bind names is a regex pass per construction."""
    return text(sql)


def run_page(connection: Connection, filters: PageFilters, offset: int, limit: int) -> tuple[list[PageRow], int]:
    """The page's rows and the total number of matching services."""
    prepare_connection(connection)
    dialect = connection.dialect.name
    sql, params = page_statement(dialect, filters, offset, limit)
    rows = connection.execute(statement(sql), params).all()
    if rows:
        total = int(rows[0].total)
    elif offset == 0:
        total = 0
    else:  # past the last page: the window count came back with no row to carry it
        count_sql, count_params = count_statement(dialect, filters)
        total = int(connection.execute(statement(count_sql), count_params).scalar_one())
    return [_row(r) for r in rows], total


def run_rows(connection: Connection, filters: PageFilters) -> list[PageRow]:
    prepare_connection(connection)
    sql, params = rows_statement(connection.dialect.name, filters)
    return [_row(r) for r in connection.execute(statement(sql), params)]


def _row(r: Any) -> PageRow:
    return PageRow(
        r.service_id,
        r.sal_id,
        r.location_id,
        r.latitude,
        r.longitude,
        None if r.distance_km is None else float(r.distance_km),
        float(r.rank or 0.0),
    )
