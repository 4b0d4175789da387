"""The directory search: one function used by the staff UI, the HSDS API and the FHIR API.

How a search runs (issue 5, scope 5):

1. **SQL candidates.** One query returns (service, location) pairs that pass every filter SQL can
   decide: active status, need (taxonomy terms through ``hsds_attribute``), free text (PostgreSQL
   ``websearch_to_tsquery`` on ``hsds_service_search``; SQLite FTS5 on ``hsds_service_fts``),
   language (service or location ``hsds_language``), age, free, accepting, service area. When
   searching near a point, the spatial index limits candidates to a bounding box first (R*Tree on
   SQLite, ``earth_box`` on the ``ll_to_earth`` GiST index on PostgreSQL).
2. **Exact filters in Python.** Haversine distance and the radius (computed identically for both
   databases, so they return the same ids in the same order), and open now / open at (RRULE
   evaluation, see :mod:`schedule`).
3. **One row per service**: its nearest passing location (or, without a point, its first located
   one). Sort by distance when ``near`` is given, else by text rank, then by name, then by id —
   the id makes paging stable.
4. **Hydrate the page only**: organization, phones, languages, hours and the reasons it matched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Text,
    and_,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from resource_directory.ddl import FTS_TABLE, PG_SEARCH_TABLE, PG_TEXT_CONFIG, RTREE_KEY_TABLE, RTREE_TABLE
from resource_directory.geocoding.base import GeocodeInputError, Geocoder
from resource_directory.geocoding.offline import ZipInfo, find_zip, nearest_zip, zip_info
from resource_directory.geocoding.points import bounding_box, haversine_km, parse_point
from resource_directory.models import (
    Address,
    Attribute,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resource_directory.search import explain
from resource_directory.search.coverage import area_covers
from resource_directory.search.query import SearchError, SearchQuery
from resource_directory.search.results import SearchPage, SearchResult
from resource_directory.search.schedule import OpenStatus, open_status
from resource_directory.search.text import fts5_match, has_searchable_words

CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit
_FREE_WORDS = ("%free%", "%no cost%", "%no charge%", "%no fee%")

_fts = table(FTS_TABLE, column("service_id"), column("rowid"))
_pg_search = table(PG_SEARCH_TABLE, column("service_id"), column("document"))
_rtree = table(RTREE_TABLE, column("rid"), column("min_lat"), column("max_lat"), column("min_lon"), column("max_lon"))
_rtree_key = table(RTREE_KEY_TABLE, column("rid"), column("location_id"))


@dataclass(slots=True)
class _Candidate:
    service_id: str
    service_name: str
    sal_id: str | None
    location_id: str | None
    latitude: float | None
    longitude: float | None
    location_name: str | None
    rank: float
    distance_km: float | None = None
    status: OpenStatus | None = None


def search(
    session: Session,
    query: SearchQuery,
    *,
    geocoder: Geocoder | None = None,
    now: datetime | None = None,
    default_timezone: str | tzinfo = "UTC",
) -> SearchPage:
    """Run ``query`` and return one page of explained results.

    ``geocoder`` resolves text given as ``near``/``covering`` (offline by default, so a patient's
    address does not leave the machine). ``now`` fixes "open now" (tests, reproducible links).
    ``default_timezone`` applies to schedules whose zone is stated nowhere (neither on the
    schedule nor derivable from the location's ZIP code).
    """
    zone = ZoneInfo(default_timezone) if isinstance(default_timezone, str) else default_timezone
    moment = _aware(now or datetime.now(UTC), zone)
    open_moment = _aware(query.open_at, zone) if query.open_at is not None else moment if query.open_now else None
    near = _resolve_point(session, "near", query.near, geocoder)
    covering_point, covering_place = _resolve_covering(query.covering, geocoder)
    need_terms, need_label = _resolve_need(session, query.need) if query.need else (None, None)
    text = query.text if has_searchable_words(query.text) else None

    statement = _candidate_statement(session, query, near, need_terms, text, covering_point, covering_place)
    candidates = [
        _Candidate(
            row.service_id,
            row.service_name,
            row.sal_id,
            row.location_id,
            row.latitude,
            row.longitude,
            row.location_name,
            float(row.rank or 0.0),
        )
        for row in session.execute(statement)
    ]

    if near is not None:
        candidates = _within_radius(candidates, near, query.radius_km)
    if open_moment is not None:
        candidates = _open_at(session, candidates, open_moment, zone)

    best = _best_per_service(candidates, by_distance=near is not None)
    if near is not None:
        best.sort(key=lambda c: (c.distance_km, c.service_name.casefold(), c.service_id))
    else:
        best.sort(key=lambda c: (-c.rank, c.service_name.casefold(), c.service_id))
    start = (query.page - 1) * query.per_page
    page_rows = best[start : start + query.per_page]
    results = _hydrate(
        session, query, page_rows, need_terms, need_label, text, open_moment, moment, zone, covering_place
    )
    return SearchPage(total=len(best), page=query.page, per_page=query.per_page, results=results)


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


def _resolve_need(session: Session, need: str) -> tuple[dict[str, str], str | None]:
    """Taxonomy term ids (with all narrower terms) → term name, and the category code for reasons.

    The label is the SDOH category code when the need came through the crosswalk, else ``None``
    (a term id means nothing to a reader; the term name says it all).
    """
    label = None
    seeds: list[TaxonomyTerm] = []
    term = session.get(TaxonomyTerm, need)
    if term is not None:
        seeds = [term]
    else:
        seeds = list(session.execute(select(TaxonomyTerm).where(TaxonomyTerm.code == need)).scalars())
    if not seeds:
        seeds = _terms_for_category(session, need)
        label = need
    if not seeds:
        raise SearchError("need", f"unknown need {need!r}: give an SDOH category code or a taxonomy term id")
    found = {t.id: t.name for t in seeds}
    frontier = list(found)
    while frontier:  # add narrower terms: "Food" also finds "Food Pantry"
        children = session.execute(
            select(TaxonomyTerm.id, TaxonomyTerm.name).where(TaxonomyTerm.parent_id.in_(frontier))
        ).all()
        frontier = [child_id for child_id, _ in children if child_id not in found]
        found.update((child_id, name) for child_id, name in children)
    return found, label


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


# ---------------------------------------------------------------------------------------------
# SQL candidates
# ---------------------------------------------------------------------------------------------


def _candidate_statement(
    session: Session,
    query: SearchQuery,
    near: tuple[float, float] | None,
    need_terms: dict[str, str] | None,
    text: str | None,
    covering_point: tuple[float, float] | None,
    covering_place: ZipInfo | None,
) -> Any:
    dialect = session.get_bind().dialect.name
    sal = ServiceAtLocation.__table__
    location = Location.__table__
    service = Service.__table__
    rank: ColumnElement[Any] = cast(literal(0.0), Float)
    needs_location = near is not None
    join = service.join(sal, sal.c.service_id == service.c.id, isouter=not needs_location)
    join = join.join(location, location.c.id == sal.c.location_id, isouter=not needs_location)

    if text is not None:
        ranked = _text_subquery(dialect, text)
        join = join.join(ranked, ranked.c.service_id == service.c.id)
        rank = ranked.c.rank

    conditions: list[ColumnElement[bool]] = [service.c.status == "active"]
    if need_terms is not None:
        conditions.append(
            exists().where(
                Attribute.link_id == service.c.id,
                Attribute.link_entity == "service",
                Attribute.taxonomy_term_id.in_(list(need_terms)),
            )
        )
    if query.language_info is not None:
        conditions.append(_speaks(query.language_info.codes, query.language_info.name, service.c.id, location.c.id))
    if query.age is not None:
        conditions.append(or_(service.c.minimum_age.is_(None), service.c.minimum_age <= query.age))
        conditions.append(or_(service.c.maximum_age.is_(None), service.c.maximum_age >= query.age))
    if query.free_only:
        conditions.append(_is_free(service))
    if query.accepting_only:
        conditions.append(service.c.referral_status == "accepting")
    if covering_point is not None or covering_place is not None:
        conditions.append(_covers(session, service.c.id, covering_point, covering_place))
    if near is not None:
        conditions += [location.c.latitude.is_not(None), location.c.longitude.is_not(None)]
        if query.radius_km is not None:
            conditions.append(_in_box(dialect, location, near, query.radius_km))

    return (
        select(
            service.c.id.label("service_id"),
            service.c.name.label("service_name"),
            sal.c.id.label("sal_id"),
            location.c.id.label("location_id"),
            location.c.latitude,
            location.c.longitude,
            location.c.name.label("location_name"),
            rank.label("rank"),
        )
        .select_from(join)
        .where(and_(*conditions))
    )


def _text_subquery(dialect: str, text: str) -> Any:
    if dialect == "postgresql":
        config = literal_column(f"'{PG_TEXT_CONFIG}'::regconfig")
        tsquery = func.websearch_to_tsquery(config, func.unaccent(cast(literal(text), Text)))
        return (
            select(
                _pg_search.c.service_id,
                func.ts_rank_cd(_pg_search.c.document, tsquery).label("rank"),
            )
            .where(_pg_search.c.document.op("@@")(tsquery))
            .subquery("text_match")
        )
    match = fts5_match(text)
    fts_table = literal_column(FTS_TABLE)
    # Only exclusions or a lone "or": nothing to look for (PostgreSQL's empty tsquery matches nothing too).
    found = fts_table.op("MATCH")(match) if match is not None else literal_column("1").op("=")(0)
    # bm25 is "lower is better"; negate so that every dialect ranks "higher is better".
    # Column weights: service_id (unindexed), name ×10, everything else ×1.
    return (
        select(
            _fts.c.service_id,
            (-func.bm25(fts_table, 0.0, 10.0, 1.0)).label("rank"),
        )
        .where(found)
        .subquery("text_match")
    )


def _speaks(codes: Iterable[str], name: str, service_id: Any, location_id: Any) -> ColumnElement[bool]:
    matches_language = or_(
        func.lower(Language.code).in_(sorted(codes)),
        func.lower(Language.name) == name.lower(),
    )
    return or_(
        exists().where(Language.service_id == service_id, matches_language),
        exists().where(Language.location_id == location_id, matches_language),
    )


def _is_free(service: Any) -> ColumnElement[bool]:
    """A zero-amount cost option, or no priced option and fee text that says it is free."""
    zero_cost = exists().where(CostOption.service_id == service.c.id, CostOption.amount == 0)
    priced = exists().where(CostOption.service_id == service.c.id, CostOption.amount > 0)
    fee_text = func.lower(func.coalesce(service.c.fees_description, service.c.fees, ""))
    says_free = or_(*(fee_text.like(pattern) for pattern in _FREE_WORDS))
    return or_(zero_cost, and_(~priced, says_free))


def _covers(
    session: Session, service_id: Any, point: tuple[float, float] | None, place: ZipInfo | None
) -> ColumnElement[bool]:
    """Services without an area, or with one that covers the point/ZIP (decided in Python)."""
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
    has_area = exists().where(ServiceArea.service_id == service_id)
    return or_(~has_area, service_id.in_(sorted(covering)))


def _in_box(dialect: str, location: Any, near: tuple[float, float], radius_km: float) -> ColumnElement[bool]:
    """Spatial-index prefilter: a box that contains every point within the radius."""
    lat, lon = near
    if dialect == "postgresql":
        # earth() is 6378168 m, larger than the haversine radius we use (6371.0088 km): widen the
        # box in proportion, plus a margin, so it stays a superset of the exact circle.
        radius_m = radius_km * 1000.0 * (6378168.0 / 6371008.8) * 1.01 + 100.0
        box = func.earth_box(func.ll_to_earth(lat, lon), radius_m)
        return box.op("@>")(func.ll_to_earth(location.c.latitude, location.c.longitude))
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_km)
    in_rtree = (
        select(_rtree_key.c.location_id)
        .select_from(_rtree.join(_rtree_key, _rtree_key.c.rid == _rtree.c.rid))
        .where(
            _rtree.c.max_lat >= min_lat,
            _rtree.c.min_lat <= max_lat,
            _rtree.c.max_lon >= min_lon,
            _rtree.c.min_lon <= max_lon,
        )
    )
    return location.c.id.in_(in_rtree)


# ---------------------------------------------------------------------------------------------
# Exact filters
# ---------------------------------------------------------------------------------------------


def _within_radius(
    candidates: list[_Candidate], near: tuple[float, float], radius_km: float | None
) -> list[_Candidate]:
    kept = []
    for candidate in candidates:
        if candidate.latitude is None or candidate.longitude is None:
            continue
        candidate.distance_km = haversine_km(near[0], near[1], candidate.latitude, candidate.longitude)
        if radius_km is None or candidate.distance_km <= radius_km:
            kept.append(candidate)
    return kept


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def _schedules_for(session: Session, candidates: Sequence[_Candidate]) -> dict[tuple[str, str], list[Schedule]]:
    """Schedules keyed by (owner column, owner id) for the candidates' rows, in one query per chunk."""
    keyed: dict[tuple[str, str], list[Schedule]] = defaultdict(list)
    owners = {
        "service_at_location_id": sorted({c.sal_id for c in candidates if c.sal_id}),
        "service_id": sorted({c.service_id for c in candidates}),
        "location_id": sorted({c.location_id for c in candidates if c.location_id}),
    }
    longest = max(len(ids) for ids in owners.values())
    seen: set[str] = set()
    for start in range(0, longest, CHUNK):
        clauses = [
            getattr(Schedule, attribute).in_(ids[start : start + CHUNK])
            for attribute, ids in owners.items()
            if ids[start : start + CHUNK]
        ]
        for schedule in session.execute(select(Schedule).where(or_(*clauses)).order_by(Schedule.id)).scalars():
            if schedule.id in seen:
                continue
            seen.add(schedule.id)
            for attribute in owners:
                owner = getattr(schedule, attribute)
                if owner:
                    keyed[(attribute, owner)].append(schedule)
    return keyed


def _effective_schedules(keyed: dict[tuple[str, str], list[Schedule]], candidate: _Candidate) -> list[Schedule]:
    """The most specific hours win: service-at-location, then service, then location (HSDS 3.0)."""
    for attribute, owner in (
        ("service_at_location_id", candidate.sal_id),
        ("service_id", candidate.service_id),
        ("location_id", candidate.location_id),
    ):
        if owner and keyed.get((attribute, owner)):
            return keyed[(attribute, owner)]
    return []


def _location_places(
    session: Session, location_ids: Iterable[str], default: tzinfo
) -> tuple[dict[str, tzinfo], dict[str, str]]:
    """Each location's time zone (from its address ZIP: ``zipcodes`` ships IANA zones) and one-line address.

    Physical addresses come before postal ones (``address_type`` sorts that way).
    """
    zones: dict[str, tzinfo] = {}
    lines: dict[str, str] = {}
    for chunk in _chunks(sorted(set(location_ids))):
        rows = session.execute(
            select(Address).where(Address.location_id.in_(chunk)).order_by(Address.address_type, Address.id)
        ).scalars()
        for address in rows:
            location_id = address.location_id or ""
            info = zip_info(address.postal_code)
            if location_id not in zones and info is not None and info.timezone:
                zones[location_id] = ZoneInfo(info.timezone)
            if location_id not in lines:
                state_zip = " ".join(p for p in (address.state_province, address.postal_code) if p)
                parts = [address.address_1, address.address_2, address.city, state_zip]
                lines[location_id] = ", ".join(p for p in parts if p)
    return defaultdict(lambda: default, zones), lines


def _open_at(session: Session, candidates: list[_Candidate], moment: datetime, zone: tzinfo) -> list[_Candidate]:
    keyed = _schedules_for(session, candidates)
    zones, _ = _location_places(session, (c.location_id for c in candidates if c.location_id), zone)
    kept = []
    for candidate in candidates:
        local_zone = zones[candidate.location_id] if candidate.location_id else zone
        candidate.status = open_status(_effective_schedules(keyed, candidate), moment, local_zone)
        if candidate.status.is_open:
            kept.append(candidate)
    return kept


def _best_per_service(candidates: list[_Candidate], *, by_distance: bool) -> list[_Candidate]:
    best: dict[str, _Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.service_id)
        if current is None or _better(candidate, current, by_distance):
            best[candidate.service_id] = candidate
    return list(best.values())


def _better(candidate: _Candidate, current: _Candidate, by_distance: bool) -> bool:
    if by_distance:
        return (candidate.distance_km, candidate.location_id or "") < (current.distance_km, current.location_id or "")

    # Without a point: prefer a located row, then the smallest location id (deterministic).
    def key(c: _Candidate) -> tuple[bool, str]:
        return (c.latitude is None, c.location_id or "\uffff")

    return key(candidate) < key(current)


# ---------------------------------------------------------------------------------------------
# Page hydration
# ---------------------------------------------------------------------------------------------


def _hydrate(
    session: Session,
    query: SearchQuery,
    rows: Sequence[_Candidate],
    need_terms: dict[str, str] | None,
    need_label: str | None,
    text: str | None,
    open_moment: datetime | None,
    moment: datetime,
    zone: tzinfo,
    covering_place: ZipInfo | None,
) -> list[SearchResult]:
    if not rows:
        return []
    service_ids = [r.service_id for r in rows]
    location_ids = [r.location_id for r in rows if r.location_id]
    sal_ids = [r.sal_id for r in rows if r.sal_id]
    services: dict[str, Service] = {}
    org_names: dict[str, str] = {}
    for service, org_name in session.execute(
        select(Service, Organization.name)
        .join(Organization, Organization.id == Service.organization_id)
        .where(Service.id.in_(service_ids))
    ):
        services[service.id] = service
        org_names[service.id] = org_name
    zones, addresses = _location_places(session, location_ids, zone)
    phones = _phones(session, service_ids, location_ids, sal_ids)
    languages = _languages(session, service_ids, location_ids)
    matched_terms = _matched_terms(session, service_ids, need_terms) if need_terms else {}
    area_names = _area_names(session, service_ids) if covering_place is not None or query.covering else {}
    keyed = _schedules_for(session, rows)
    today = moment.astimezone(zone).date()

    results = []
    for row in rows:
        service = services[row.service_id]
        local_zone = zones[row.location_id] if row.location_id else zone
        schedules = _effective_schedules(keyed, row)
        now_status = open_status(schedules, moment, local_zone)
        matched: list[str] = []
        if need_terms is not None:
            matched.append(explain.need_reason(matched_terms.get(row.service_id, query.need or ""), need_label))
        if text is not None:
            matched.append(explain.text_reason(text))
        if query.language_info is not None:
            matched.append(explain.language_reason(query.language_info.name))
        if query.age is not None:
            matched.append(explain.age_reason(query.age, service.minimum_age, service.maximum_age))
        if open_moment is not None:
            status = row.status or open_status(schedules, open_moment, local_zone)
            matched.append(explain.open_reason(status, open_moment, requested=query.open_at is not None))
        if query.free_only:
            matched.append(explain.free_reason())
        if query.accepting_only:
            matched.append(explain.accepting_reason())
        if query.covering is not None:
            matched.append(explain.covering_reason(area_names.get(row.service_id)))
        if row.distance_km is not None:
            matched.append(explain.distance_reason(row.distance_km))
        results.append(
            SearchResult(
                service_id=service.id,
                service_name=service.name,
                organization_name=org_names.get(service.id),
                location_id=row.location_id,
                location_name=row.location_name,
                address=addresses.get(row.location_id) if row.location_id else None,
                latitude=row.latitude,
                longitude=row.longitude,
                distance_km=row.distance_km,
                matched=matched,
                assured_date=service.assured_date,
                freshness_days=explain.freshness_days(service.assured_date, today),
                referral_status=service.referral_status,
                phones=_phones_for(phones, row),
                languages=_merge_unique(languages.get(row.service_id, []), languages.get(row.location_id or "", [])),
                open_now=now_status.is_open if now_status.known else None,
                hours=now_status.describe(moment),
                closes_at=now_status.closes_at,
                next_opens_at=now_status.next_opens_at,
            )
        )
    return results


def _merge_unique(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for values in lists:
        for value in values:
            seen.setdefault(value, None)
    return list(seen)


def _phones(
    session: Session, service_ids: list[str], location_ids: list[str], sal_ids: list[str]
) -> dict[tuple[str, str], list[str]]:
    """Phone numbers keyed by ("sal" | "service" | "location", owner id)."""
    rows = session.execute(
        select(Phone)
        .where(
            or_(
                Phone.service_id.in_(service_ids),
                Phone.location_id.in_(location_ids),
                Phone.service_at_location_id.in_(sal_ids),
            )
        )
        .order_by(Phone.id)
    ).scalars()
    by_owner: dict[tuple[str, str], list[str]] = defaultdict(list)
    for phone in rows:
        number = phone.number + (f" x{phone.extension}" if phone.extension else "")
        owners = (("sal", phone.service_at_location_id), ("service", phone.service_id), ("location", phone.location_id))
        for kind, owner in owners:
            if owner:
                by_owner[(kind, owner)].append(number)
    return by_owner


def _phones_for(by_owner: dict[tuple[str, str], list[str]], row: _Candidate) -> list[str]:
    """Most specific first: the service at this location, the service, then the location."""
    return _merge_unique(
        by_owner.get(("sal", row.sal_id or ""), []),
        by_owner.get(("service", row.service_id), []),
        by_owner.get(("location", row.location_id or ""), []),
    )


def _languages(session: Session, service_ids: list[str], location_ids: list[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(Language)
        .where(or_(Language.service_id.in_(service_ids), Language.location_id.in_(location_ids)))
        .order_by(Language.id)
    ).scalars()
    names: dict[str, list[str]] = defaultdict(list)
    for language in rows:
        label = language.name or language.code or ""
        owner = language.service_id or language.location_id
        if owner and label and label not in names[owner]:
            names[owner].append(label)
    return names


def _matched_terms(session: Session, service_ids: list[str], need_terms: dict[str, str]) -> dict[str, str]:
    rows = session.execute(
        select(Attribute.link_id, Attribute.taxonomy_term_id)
        .where(
            Attribute.link_entity == "service",
            Attribute.link_id.in_(service_ids),
            Attribute.taxonomy_term_id.in_(list(need_terms)),
        )
        .order_by(Attribute.link_id, Attribute.id)
    )
    found: dict[str, str] = {}
    for service_id, term_id in rows:
        found.setdefault(service_id, need_terms[term_id])
    return found


def _area_names(session: Session, service_ids: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(ServiceArea.service_id, ServiceArea.name)
        .where(ServiceArea.service_id.in_(service_ids))
        .order_by(ServiceArea.service_id, ServiceArea.id)
    )
    names: dict[str, str] = {}
    for service_id, name in rows:
        names.setdefault(service_id, name or "listed area")
    return names
