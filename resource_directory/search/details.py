"""Everything a result page shows beyond the page rows, fetched in ONE statement.

A page needs, per result, the service and organization names, freshness, the location name, its
address (and from the ZIP code, its time zone), phones, languages, schedules, the taxonomy term that
matched the need and the service-area name. One ``UNION ALL`` returns them all as
``(kind, owner, sort, json array)`` rows — ``json_build_array`` on PostgreSQL, ``json_array`` on
SQLite — instead of one round trip per kind. The same statement (with only the kinds asked for)
gives the open-now filter the schedules and zones of a chunk of candidates.
"""

# SQL here is assembled from module constants, column names and bound-parameter names, never from user
# input (every value is a bound parameter), so the S608 "string-built SQL" warning does not apply.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from resource_directory.search.page_sql import NEED_CTE, in_list, list_param, statement

#: Schedule fields the RRULE evaluation reads, in the order they travel in the JSON array.
SCHEDULE_FIELDS = (
    "freq",
    "interval",
    "byday",
    "bymonthday",
    "byweekno",
    "byyearday",
    "count",
    "until",
    "wkst",
    "dtstart",
    "valid_from",
    "valid_to",
    "opens_at",
    "closes_at",
    "timezone",
)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A schedule as :mod:`resource_directory.search.schedule` reads it (dates may be ISO strings)."""

    freq: Any
    interval: Any
    byday: Any
    bymonthday: Any
    byweekno: Any
    byyearday: Any
    count: Any
    until: Any
    wkst: Any
    dtstart: Any
    valid_from: Any
    valid_to: Any
    opens_at: Any
    closes_at: Any
    timezone: Any


@dataclass
class Details:
    """Grouped detail rows: ``items[kind][owner]`` is a list of JSON arrays in display order."""

    items: dict[str, dict[str, list[list[Any]]]]

    def get(self, kind: str, owner: str | None) -> list[list[Any]]:
        if not owner:
            return []
        return self.items.get(kind, {}).get(owner, [])

    def first(self, kind: str, owner: str | None) -> list[Any] | None:
        found = self.get(kind, owner)
        return found[0] if found else None

    def schedules(self, kind: str, owner: str | None) -> list[ScheduleRow]:
        return [ScheduleRow(*values) for values in self.get(kind, owner)]


def _array(dialect: str, columns: Iterable[str]) -> str:
    if dialect == "postgresql":  # as text: orjson parses it faster than psycopg's json loader
        return f"CAST(json_build_array({', '.join(columns)}) AS text)"
    return f"json_array({', '.join(columns)})"


def _text(dialect: str, column: str) -> str:
    # Bytewise order on PostgreSQL too ("C"), as SQLite and Python compare.
    return f'CAST({column} AS text) COLLATE "C"' if dialect == "postgresql" else column


@lru_cache(maxsize=256)
def _details_sql(
    dialect: str,
    wanted: frozenset[str],
    has_services: bool,
    has_locations: bool,
    has_sals: bool,
    need_mode: str | None,
) -> str | None:
    """The UNION ALL statement for these kinds and owners (built once per shape, then reused)."""
    parts: list[str] = []

    def add(kind: str, owner: str, sort: str, columns: Sequence[str], source: str, where: str) -> None:
        if kind in wanted:
            parts.append(
                f"SELECT '{kind}' AS kind, {_text(dialect, owner)} AS owner, {_text(dialect, sort)} AS sort,"
                f" {_array(dialect, columns)} AS data FROM {source} WHERE {where}"
            )

    if has_services:
        services = in_list(dialect, "s.id", "services")
        add(
            "service",
            "s.id",
            "s.id",
            ["s.name", "o.name", "s.assured_date", "s.referral_status", "s.minimum_age", "s.maximum_age"],
            "hsds_service s JOIN hsds_organization o ON o.id = s.organization_id",
            services,
        )
        add("phone_service", "p.service_id", "p.id", ["p.number", "p.extension"], "hsds_phone p",
            in_list(dialect, "p.service_id", "services"))  # fmt: skip
        add("language_service", "g.service_id", "g.id", ["g.name", "g.code"], "hsds_language g",
            in_list(dialect, "g.service_id", "services"))  # fmt: skip
        add("schedule_service", "h.service_id", "h.id", [f"h.{f}" for f in SCHEDULE_FIELDS], "hsds_schedule h",
            in_list(dialect, "h.service_id", "services"))  # fmt: skip
        add("area", "r.service_id", "r.id", ["r.name"], "hsds_service_area r",
            in_list(dialect, "r.service_id", "services"))  # fmt: skip
        if need_mode is not None:
            terms = (
                "a.taxonomy_term_id IN (SELECT id FROM found)"
                if need_mode == "ref"
                else in_list(dialect, "a.taxonomy_term_id", "need_terms")
            )
            add(
                "term",
                "a.link_id",
                "a.id",
                ["t.name"],
                "hsds_attribute a JOIN hsds_taxonomy_term t ON t.id = a.taxonomy_term_id",
                f"a.link_entity = 'service' AND {in_list(dialect, 'a.link_id', 'services')} AND {terms}",
            )
    if has_locations:
        add("location", "l.id", "l.id", ["l.name"], "hsds_location l", in_list(dialect, "l.id", "locations"))
        add(
            "address",
            "d.location_id",
            "d.address_type || ' ' || d.id",  # physical < postal < virtual, then id
            ["d.address_1", "d.address_2", "d.city", "d.state_province", "d.postal_code"],
            "hsds_address d",
            in_list(dialect, "d.location_id", "locations"),
        )
        add("phone_location", "p.location_id", "p.id", ["p.number", "p.extension"], "hsds_phone p",
            in_list(dialect, "p.location_id", "locations"))  # fmt: skip
        add("language_location", "g.location_id", "g.id", ["g.name", "g.code"], "hsds_language g",
            in_list(dialect, "g.location_id", "locations"))  # fmt: skip
        add("schedule_location", "h.location_id", "h.id", [f"h.{f}" for f in SCHEDULE_FIELDS], "hsds_schedule h",
            in_list(dialect, "h.location_id", "locations"))  # fmt: skip
    if has_sals:
        add("phone_sal", "p.service_at_location_id", "p.id", ["p.number", "p.extension"], "hsds_phone p",
            in_list(dialect, "p.service_at_location_id", "sals"))  # fmt: skip
        add("schedule_sal", "h.service_at_location_id", "h.id", [f"h.{f}" for f in SCHEDULE_FIELDS],
            "hsds_schedule h", in_list(dialect, "h.service_at_location_id", "sals"))  # fmt: skip
    if not parts:
        return None
    prefix = NEED_CTE if need_mode == "ref" and has_services and "term" in wanted else ""
    return prefix + " UNION ALL ".join(parts) + " ORDER BY kind, owner, sort"


def fetch_details(
    connection: Connection,
    *,
    service_ids: Sequence[str] = (),
    location_ids: Sequence[str] = (),
    sal_ids: Sequence[str] = (),
    kinds: Iterable[str],
    need_term_ids: Sequence[str] = (),
    need_ref: str | None = None,
) -> Details:
    """Rows of the requested ``kinds`` for these owners, grouped by kind and owner.

    Kinds: ``service`` (name, organization, assured date, referral status, ages), ``location`` (name),
    ``address`` (physical before postal), ``phone_sal``/``phone_service``/``phone_location``,
    ``language_service``/``language_location``, ``schedule_sal``/``schedule_service``/
    ``schedule_location``, ``term`` (name of the first attribute per service whose term is ``need_ref`` — a term id or
    code — or narrower, or one of ``need_term_ids``), ``area``.
    """
    dialect = connection.dialect.name
    params: dict[str, Any] = {}
    owners = {"services": service_ids, "locations": location_ids, "sals": sal_ids}
    for name, values in owners.items():
        if values:
            params[name] = list_param(dialect, sorted(set(values)))
    need_mode = None
    if need_ref is not None and service_ids:
        params["need"], need_mode = need_ref, "ref"
    elif need_term_ids and service_ids:
        params["need_terms"], need_mode = list_param(dialect, sorted(set(need_term_ids))), "ids"
    sql = _details_sql(
        dialect,
        frozenset(kinds),
        bool(service_ids),
        bool(location_ids),
        bool(sal_ids),
        need_mode,
    )
    items: dict[str, dict[str, list[list[Any]]]] = defaultdict(lambda: defaultdict(list))
    if sql is None:
        return Details(items)
    for kind, owner, _sort, data in connection.execute(statement(sql), params).all():
        items[kind][owner].append(orjson.loads(data) if isinstance(data, str | bytes) else data)
    return Details(items)
