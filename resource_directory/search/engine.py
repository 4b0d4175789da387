"""The directory search: one function used by the staff UI, the HSDS API and the FHIR API.

How a search runs (issue 5, scope 5), in three or four round trips whatever the directory size:

1. **Need → term keys.** One recursive query expands the need (a term id or code, or an SDOH category
   through the crosswalk) to the term and every narrower term, with their keys in the search tables.
2. **The page, in SQL** (:mod:`page_sql`). The denormalised search tables (``resource_directory.ddl``)
   carry every filterable fact per (service, location); one statement filters (need, free text,
   language, age, free, accepting, service area), computes exact haversine distances, keeps each
   service's nearest location, orders (distance, name, id — or text rank), counts and cuts the page.
   Only the rows of the needed terms inside the radius's latitude bands and longitude range are read.
3. **Open now / open at** cannot be decided by SQL (RRULEs, time zones). Then the statement returns
   the matching rows in result order instead, and Python walks them: a service's rows come
   best-first, so the first open row of a service is its result, and services come out in result
   order. Schedules are fetched per chunk of candidates, and each distinct (schedules, zone)
   combination is evaluated once — real directories share a handful of opening-hour patterns.
4. **Details of the page only** (:mod:`details`): names, address and zone, phones, languages, hours,
   the matched term and the service-area name, in one ``UNION ALL`` statement.

Distances are computed identically to :func:`resource_directory.geocoding.points.haversine_km` on both
databases, so SQLite, PostgreSQL and a brute-force scan return the same ids in the same order.
"""

# SQL here is assembled from module constants, column names and bound-parameter names, never from user
# input (every value is a bound parameter), so the S608 "string-built SQL" warning does not apply.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from resource_directory.ddl import SEARCH_TERM_KEY_TABLE
from resource_directory.geocoding.base import GeocodeInputError, Geocoder
from resource_directory.geocoding.offline import ZipInfo, find_zip, nearest_zip, zip_info
from resource_directory.geocoding.points import parse_point
from resource_directory.models import ServiceArea, TaxonomyTerm
from resource_directory.search import explain
from resource_directory.search.coverage import area_covers
from resource_directory.search.details import Details, ScheduleRow, fetch_details
from resource_directory.search.page_sql import PageFilters, PageRow, in_list, list_param, run_page, run_rows, statement
from resource_directory.search.query import SearchError, SearchQuery
from resource_directory.search.results import SearchPage, SearchResult
from resource_directory.search.schedule import OpenStatus, open_status, parse_clock
from resource_directory.search.text import fts5_match, has_searchable_words

#: Candidates whose schedules are fetched per round trip by the open-now filter.
OPEN_CHUNK = 500
_SCHEDULE_KINDS = ("schedule_sal", "schedule_service", "schedule_location")
_PAGE_KINDS = ("service", "address", *_SCHEDULE_KINDS)
#: What only a result list shows (the HSDS API's documents carry these objects themselves).
_CONTACT_KINDS = ("location", "phone_sal", "phone_service", "phone_location", "language_service", "language_location")


def search(
    session: Session,
    query: SearchQuery,
    *,
    geocoder: Geocoder | None = None,
    now: datetime | None = None,
    default_timezone: str | tzinfo = "UTC",
    contacts: bool = True,
) -> SearchPage:
    """Run ``query`` and return one page of explained results.

    ``geocoder`` resolves text given as ``near``/``covering`` (offline by default, so a patient's
    address does not leave the machine). ``now`` fixes "open now" (tests, reproducible links).
    ``default_timezone`` applies to schedules whose zone is stated nowhere (neither on the
    schedule nor derivable from the location's ZIP code). ``contacts=False`` leaves out what only a result
    list shows -- phones, languages, location name (empty / ``None``) -- and the reads behind them.
    """
    zone = ZoneInfo(default_timezone) if isinstance(default_timezone, str) else default_timezone
    moment = _aware(now or datetime.now(UTC), zone)
    open_moment = _aware(query.open_at, zone) if query.open_at is not None else moment if query.open_now else None
    near = _resolve_point(session, "near", query.near, geocoder)
    covering_point, covering_place = _resolve_covering(query.covering, geocoder)
    connection = session.connection()
    need_terms: dict[str, str] | None = None  # only when the need came through the category crosswalk
    need_label: str | None = None
    # A need is first read as a term id or code, expanded inside the page statement itself.
    filters = PageFilters(near=near, radius_km=query.radius_km if near is not None else None, need_ref=query.need)
    text_query = query.text if has_searchable_words(query.text) else None
    if text_query is not None:
        if connection.dialect.name == "postgresql":
            filters.pg_text = text_query
        else:
            filters.fts_match = fts5_match(text_query)
            # Only exclusions or a lone "or": nothing to look for (PostgreSQL's empty tsquery matches nothing too).
            filters.text_matches_nothing = filters.fts_match is None
    if query.language_info is not None:
        filters.language_codes = sorted(query.language_info.codes)
        filters.language_name = query.language_info.name
    filters.age = query.age
    filters.free_only = query.free_only
    filters.accepting_only = query.accepting_only
    if covering_point is not None or covering_place is not None:
        filters.covering_ids = _covering_ids(session, covering_point, covering_place)

    start = (query.page - 1) * query.per_page
    rows, total, statuses = _find(connection, filters, open_moment, zone, start, query.per_page)
    if query.need and total == 0:
        # Nothing found: is the need a term at all (else SearchError)? Or an SDOH category (crosswalk)?
        need_terms, need_label, keys = _resolve_need(session, connection, query.need)
        if need_label is not None:
            filters.need_ref, filters.term_keys = None, keys
            if keys:  # no key: the category's terms are attached to no service
                rows, total, statuses = _find(connection, filters, open_moment, zone, start, query.per_page)
    results = _hydrate(
        connection, query, rows, statuses, need_terms, need_label, text_query, open_moment, moment, zone, contacts
    )
    return SearchPage(total=total, page=query.page, per_page=query.per_page, results=results)


def _find(
    connection: Connection, filters: PageFilters, open_moment: datetime | None, zone: tzinfo, start: int, per_page: int
) -> tuple[list[PageRow], int, dict[int, OpenStatus]]:
    if open_moment is None:
        rows, total = run_page(connection, filters, start, per_page)
        return rows, total, {}
    return _open_rows(connection, filters, open_moment, zone, start, per_page)


# ---------------------------------------------------------------------------------------------
# Input resolution
# ---------------------------------------------------------------------------------------------


def _aware(moment: datetime, zone: tzinfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _resolve_point(
    session: Session, field: str, value: tuple[float, float] | str | None, geocoder: Geocoder | None
) -> tuple[float, float] | None:
    if value is None or isinstance(value, tuple):
        return value
    try:
        point = parse_point(value, geocoder)
    except GeocodeInputError as error:
        raise SearchError(field, str(error)) from None
    if point is None:
        raise SearchError(field, f"could not find {value!r}: give a ZIP code, an address with a ZIP code or 'lat,lon'")
    return point


def _resolve_covering(
    value: tuple[float, float] | str | None, geocoder: Geocoder | None
) -> tuple[tuple[float, float] | None, ZipInfo | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        place = zip_info(value) or find_zip(value)
        try:
            point = parse_point(value, geocoder)
        except GeocodeInputError as error:
            raise SearchError("covering", str(error)) from None
        if point is None and place is None:
            raise SearchError("covering", f"could not find {value!r}: give a ZIP code or 'lat,lon'")
        if place is None and point is not None:
            place = nearest_zip(*point)
        return point, place
    return value, nearest_zip(*value)


_EXPAND = (
    "WITH RECURSIVE found(id) AS (SELECT id FROM hsds_taxonomy_term WHERE {seeds}"
    " UNION SELECT t.id FROM hsds_taxonomy_term t JOIN found f ON t.parent_id = f.id)"
    f" SELECT t.id, t.name, k.term_key FROM found f JOIN hsds_taxonomy_term t ON t.id = f.id"
    f" LEFT JOIN {SEARCH_TERM_KEY_TABLE} k ON k.term_id = t.id"
)
# A term id wins over a term code ("102-04"): codes are only read when no term has that id.
_BY_ID_OR_CODE = "id = :need OR (code = :need AND NOT EXISTS (SELECT 1 FROM hsds_taxonomy_term WHERE id = :need))"


def _resolve_need(session: Session, connection: Connection, need: str) -> tuple[dict[str, str], str | None, list[int]]:
    """Term ids (with all narrower terms: "Food" also finds "Food Pantry") → names, the category code
    for reasons, and the terms' keys in the search tables (terms attached to no service have none).

    The label is the SDOH category code when the need came through the crosswalk, else ``None``
    (a term id means nothing to a reader; the term name says it all).
    """
    rows = connection.execute(statement(_EXPAND.format(seeds=_BY_ID_OR_CODE)), {"need": need}).all()
    label = None
    if not rows:
        seeds = [term.id for term in _terms_for_category(session, need)]
        if seeds:
            dialect = connection.dialect.name
            expand = _EXPAND.format(seeds=in_list(dialect, "id", "seeds"))
            rows = connection.execute(statement(expand), {"seeds": list_param(dialect, seeds)}).all()
            label = need
    if not rows:
        raise SearchError("need", f"unknown need {need!r}: give an SDOH category code or a taxonomy term id")
    names = {term_id: name for term_id, name, _ in rows}
    keys = sorted({int(key) for _, _, key in rows if key is not None})
    return names, label, keys


def _terms_for_category(session: Session, code: str) -> list[TaxonomyTerm]:
    """Gravity SDOH category → terms through D1's crosswalk (``resource_directory.taxonomy``)."""
    try:
        from resource_directory.taxonomy import terms_for_category
    except ImportError:  # crosswalk not installed: only term ids/codes work
        return []
    terms: list[TaxonomyTerm] = []
    for item in terms_for_category(session, code) or []:
        term = item if isinstance(item, TaxonomyTerm) else session.get(TaxonomyTerm, str(item))
        if term is not None:
            terms.append(term)
    return terms


def _covering_ids(session: Session, point: tuple[float, float] | None, place: ZipInfo | None) -> list[str]:
    """Services having a service area that covers the point/ZIP (decided in Python: GeoJSON and names).

    Services without any area serve everyone; the page statement lets them through itself.
    """
    covering: set[str] = set()
    rows = session.execute(
        select(
            ServiceArea.service_id,
            ServiceArea.name,
            ServiceArea.description,
            ServiceArea.extent,
            ServiceArea.extent_type,
        ).where(ServiceArea.service_id.is_not(None))
    )
    for row in rows:
        if row.service_id not in covering and area_covers(
            name=row.name,
            description=row.description,
            extent=row.extent,
            extent_type=row.extent_type,
            point=point,
            place=place,
        ):
            covering.add(row.service_id)
    return sorted(covering)


# ---------------------------------------------------------------------------------------------
# Open now / open at
# ---------------------------------------------------------------------------------------------


def _effective_schedules(details: Details, row: PageRow) -> list[ScheduleRow]:
    """The most specific hours win: service-at-location, then service, then location (HSDS 3.0)."""
    for kind, owner in (
        ("schedule_sal", row.sal_id),
        ("schedule_service", row.service_id),
        ("schedule_location", row.location_id),
    ):
        found = details.schedules(kind, owner)
        if found:
            return found
    return []


def _location_zone(details: Details, location_id: str | None, default: tzinfo) -> tzinfo:
    """The zone of the first address (physical before postal) whose ZIP code ``zipcodes`` knows."""
    for address in details.get("address", location_id):
        info = zip_info(address[4])
        if info is not None and info.timezone:
            return ZoneInfo(info.timezone)
    return default


def status_at(schedules: tuple[ScheduleRow, ...], moment: datetime, zone: tzinfo) -> OpenStatus:
    """:func:`open_status`, remembered across searches per (schedules, zone, minute).

    Directories share a handful of opening-hour patterns and RRULE expansion is the costliest Python
    in a search. When every clock time is a whole minute, nothing changes within a minute, so the
    minute is the key (the answer is exactly the one for ``moment``).
    """
    if all(_whole_minutes(s) for s in schedules):
        return _status_for_minute(schedules, moment.replace(second=0, microsecond=0), zone)
    return open_status(schedules, moment, zone)


def _whole_minutes(schedule: ScheduleRow) -> bool:
    for value in (schedule.opens_at, schedule.closes_at):
        clock = parse_clock(value)
        if clock is not None and (clock[0].second or clock[0].microsecond):
            return False
    return True


@lru_cache(maxsize=4096)
def _status_for_minute(schedules: tuple[ScheduleRow, ...], minute: datetime, zone: tzinfo) -> OpenStatus:
    return open_status(schedules, minute, zone)


def _open_rows(
    connection: Connection,
    filters: PageFilters,
    moment: datetime,
    zone: tzinfo,
    start: int,
    per_page: int,
) -> tuple[list[PageRow], int, dict[int, OpenStatus]]:
    """Walk the matching rows in result order; a service's first open row is its result."""
    rows = run_rows(connection, filters)
    taken: list[PageRow] = []
    statuses: dict[int, OpenStatus] = {}
    done: set[str] = set()
    cache: dict[tuple[tuple[ScheduleRow, ...], tzinfo], OpenStatus] = {}
    for chunk_start in range(0, len(rows), OPEN_CHUNK):
        chunk = [row for row in rows[chunk_start : chunk_start + OPEN_CHUNK] if row.service_id not in done]
        if not chunk:
            continue
        details = fetch_details(
            connection,
            service_ids=[r.service_id for r in chunk],
            location_ids=[r.location_id for r in chunk if r.location_id],
            sal_ids=[r.sal_id for r in chunk if r.sal_id],
            kinds=(*_SCHEDULE_KINDS, "address"),
        )
        for row in chunk:
            if row.service_id in done:
                continue
            local_zone = _location_zone(details, row.location_id, zone)
            key = (tuple(_effective_schedules(details, row)), local_zone)
            status = cache.get(key)
            if status is None:
                status = cache[key] = status_at(key[0], moment, local_zone)
            if status.is_open:
                done.add(row.service_id)
                statuses[len(taken)] = status
                taken.append(row)
    page = taken[start : start + per_page]
    return page, len(taken), {i - start: statuses[i] for i in range(start, start + len(page))}


# ---------------------------------------------------------------------------------------------
# Page hydration
# ---------------------------------------------------------------------------------------------


def _hydrate(
    connection: Connection,
    query: SearchQuery,
    rows: Sequence[PageRow],
    statuses: dict[int, OpenStatus],
    need_terms: dict[str, str] | None,
    need_label: str | None,
    text_query: str | None,
    open_moment: datetime | None,
    moment: datetime,
    zone: tzinfo,
    contacts: bool,
) -> list[SearchResult]:
    if not rows:
        return []
    kinds = [*_PAGE_KINDS, *(_CONTACT_KINDS if contacts else ())]
    if query.need:
        kinds.append("term")
    if query.covering is not None:
        kinds.append("area")
    details = fetch_details(
        connection,
        service_ids=[r.service_id for r in rows],
        location_ids=[r.location_id for r in rows if r.location_id],
        sal_ids=[r.sal_id for r in rows if r.sal_id],
        kinds=kinds,
        need_term_ids=list(need_terms or ()),
        need_ref=query.need if need_terms is None else None,
    )
    today = moment.astimezone(zone).date()
    results = []
    for index, row in enumerate(rows):
        name, organization_name, assured, referral_status, minimum_age, maximum_age = (
            details.first("service", row.service_id) or [""] * 6
        )
        assured_date = explain.parse_date(assured)
        location_zone = _location_zone(details, row.location_id, zone) if row.location_id else zone
        schedules = _effective_schedules(details, row)
        now_status = status_at(tuple(schedules), moment, location_zone)
        matched: list[str] = []
        if query.need:
            term = details.first("term", row.service_id)
            matched.append(explain.need_reason(term[0] if term else query.need, need_label))
        if text_query is not None:
            matched.append(explain.text_reason(text_query))
        if query.language_info is not None:
            matched.append(explain.language_reason(query.language_info.name))
        if query.age is not None:
            matched.append(explain.age_reason(query.age, minimum_age, maximum_age))
        if open_moment is not None:
            status = statuses.get(index) or open_status(schedules, open_moment, location_zone)
            matched.append(explain.open_reason(status, open_moment, requested=query.open_at is not None))
        if query.free_only:
            matched.append(explain.free_reason())
        if query.accepting_only:
            matched.append(explain.accepting_reason())
        if query.covering is not None:
            area = details.first("area", row.service_id)
            matched.append(explain.covering_reason((area[0] or "listed area") if area else None))
        if row.distance_km is not None:
            matched.append(explain.distance_reason(row.distance_km))
        location = details.first("location", row.location_id)
        results.append(
            SearchResult(
                service_id=row.service_id,
                service_name=name,
                organization_name=organization_name,
                location_id=row.location_id,
                location_name=location[0] if location else None,
                address=_address_line(details, row.location_id),
                latitude=row.latitude,
                longitude=row.longitude,
                distance_km=row.distance_km,
                matched=matched,
                assured_date=assured_date,
                freshness_days=explain.freshness_days(assured_date, today),
                referral_status=referral_status,
                phones=_merge_unique(
                    _phones(details, "phone_sal", row.sal_id),
                    _phones(details, "phone_service", row.service_id),
                    _phones(details, "phone_location", row.location_id),
                ),
                languages=_merge_unique(
                    _languages(details, "language_service", row.service_id),
                    _languages(details, "language_location", row.location_id),
                ),
                open_now=now_status.is_open if now_status.known else None,
                hours=now_status.describe(moment),
                closes_at=now_status.closes_at,
                next_opens_at=now_status.next_opens_at,
            )
        )
    return results


def _address_line(details: Details, location_id: str | None) -> str | None:
    address = details.first("address", location_id)
    if address is None:
        return None
    address_1, address_2, city, state, postal_code = address
    state_zip = " ".join(p for p in (state, postal_code) if p)
    return ", ".join(p for p in (address_1, address_2, city, state_zip) if p)


def _phones(details: Details, kind: str, owner: str | None) -> list[str]:
    return [number + (f" x{extension}" if extension else "") for number, extension in details.get(kind, owner)]


def _languages(details: Details, kind: str, owner: str | None) -> list[str]:
    return [name or code for name, code in details.get(kind, owner) if name or code]


def _merge_unique(*lists: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for values in lists:
        for value in values:
            seen.setdefault(value, None)
    return list(seen)
