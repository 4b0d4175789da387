"""The HSDS 3.0 API under ``/hsds`` (issue 5, scope 6; market-and-hsds.md §B.4), with the hub's profile extensions.

Endpoints (official ``openapi.json`` of HSDS 3.0): ``/``, ``/services``, ``/services/{id}``,
``/service_at_locations``, ``/service_at_locations/{id}``, ``/organizations``, ``/organizations/{id}``,
``/taxonomies``, ``/taxonomies/{id}``, ``/taxonomy_terms``, ``/taxonomy_terms/{id}``. Lists answer the HSDS ``Page``
envelope (``total_items``, ``total_pages``, ``page_number``, ``size``, ``first_page``, ``last_page``, ``empty``,
``contents``) or, with ``format=ndjson``, every matching object, one per line, without paging.

Two query paths, one answer shape:

* **Listing** (no search filter): plain SQL ordered by id, so paging is stable and ``modified_after`` harvesting
  works — filters ``organization_id``, ``taxonomy_id``, ``taxonomy_term_id``, ``modified_after``.
* **Search** (any of ``search``, ``category``, ``lat``/``lng``, ``radius``, ``postcode``, ``proximity``,
  ``language``, ``age``, ``open_now``, ``free``, ``accepting``): the directory search service
  (``resource_directory.search``), the same one the staff UI uses, so the API and the UI can never disagree.
  Results are ordered nearest first (with a point) or by relevance; each object carries a ``search_result``
  extension (distance, matching location, why it matched, listing freshness, referral status).
  Combining a listing-only filter with a search filter is refused with 400 (naming the parameter) rather than
  answered wrongly.

Bad parameters answer 400 ``{"error": "invalid_parameter", "parameter": …, "message": …}``; unknown parameters are
refused the same way (a typo must not silently widen a result), except names starting with ``_`` (cache busters).

Access (``DIRECTORY_HSDS_ACCESS``): ``public`` (default — HSDS APIs are open data; the directory holds no patient
data) or ``authenticated`` (a bearer token from ``/oauth/token`` whose scopes allow reading HealthcareService, or
a signed-in staff session).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from referral_hub.directory import settings
from referral_hub.directory.hsds_serialize import documents, documents_by_ids, organization_with_services, scalars
from referral_hub.extensions import db
from referral_hub.fhir.batch import autocommit_reads
from referral_hub.sqlite_locking import reads_only
from referral_hub.web.access import public
from resource_directory.models import (
    Attribute,
    MetadataEntry,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from resource_directory.search import SearchError, SearchPage, SearchQuery, SearchResult, search

bp = Blueprint("hsds", __name__)

HSDS_VERSION = "3.0"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
MAX_PER_PAGE = 100  # the search service's own limit; listings use the same so clients need one rule
DEFAULT_PER_PAGE = 20
NDJSON_PAGE = 100

#: Profile extensions (documented in README.md and at ``/hsds/profile``).
PROFILE_PARAMETERS: dict[str, str] = {
    "lat": "latitude (WGS84) of the point to search near; with lng",
    "lng": "longitude (WGS84) of the point to search near; with lat",
    "radius": "kilometres from lat/lng (or from the postcode centroid); results sorted nearest first",
    "language": "ISO 639 code (es, spa, zh …) the service or its location speaks",
    "age": "the client's age in years, checked against minimum_age/maximum_age",
    "open_now": "true: open at this moment (schedule RRULEs, the location's time zone)",
    "category": "a Gravity SDOH category code (food-insecurity …) mapped to taxonomy terms, or a term id/code",
    "accepting": "true: the service accepts referrals now (hub field referral_status = accepting)",
    "free": "true: a zero-cost option exists or the fees say free",
}

_SEARCH_PARAMS = {
    "search",
    "category",
    "lat",
    "lng",
    "radius",
    "postcode",
    "proximity",
    "language",
    "age",
    "open_now",
    "free",
    "accepting",
}
_COMMON = {"page", "per_page", "format"}


class BadParameter(Exception):
    """A query parameter is wrong: answered 400 naming it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter) -> ResponseReturnValue:
    return _json({"error": "invalid_parameter", "parameter": error.parameter, "message": error.message}, 400)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _not_found(kind: str, object_id: str) -> Response:
    return _json({"error": "not_found", "message": f"no {kind} with id {object_id!r}"}, 404)


# ---------------------------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------------------------


@bp.before_request
def _reads_only() -> None:
    """The HSDS API only reads: on SQLite its requests do not queue for the write lock; on PostgreSQL they run in
    autocommit (no BEGIN/ROLLBACK round trips; each statement already took its own snapshot under READ COMMITTED;
    server CPU per search 5.3-5.8 -> 3.0-3.2 ms on the 1M bench directory). A search from a postcode keeps its
    transaction: a configured online geocoder flushes its cache row there, which the request's rollback discards,
    as before."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        reads_only()
        if "postcode" not in request.args:
            autocommit_reads(db.session())


@bp.before_request
def _check_access() -> ResponseReturnValue | None:
    if settings.hsds_access(current_app) == "public":
        return None
    from flask_login import current_user

    from referral_hub.auth.errors import AuthError
    from referral_hub.auth.scopes import allows
    from referral_hub.auth.tokens import bearer_principal
    from referral_hub.security.principal import set_current_principal

    header = request.headers.get("Authorization")
    if header is None and getattr(current_user, "is_authenticated", False):
        return None  # a signed-in staff member browsing the API
    try:
        principal = bearer_principal(header)
    except AuthError as error:
        return _unauthorized(error.description)
    if principal is None:
        return _unauthorized("This directory API needs an access token (Authorization: Bearer …)")
    if not (
        allows(principal.scopes, "HealthcareService", "read") or allows(principal.scopes, "HealthcareService", "search")
    ):
        return _json({"error": "forbidden", "message": "The access token does not allow reading the directory"}, 403)
    set_current_principal(principal)
    return None


def _unauthorized(message: str) -> Response:
    response = _json({"error": "unauthorized", "message": message}, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="hsds"'
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    # Public open data: any web page may read it (no cookies are honoured cross-site, so nothing leaks).
    if settings.hsds_access(current_app) == "public":
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response


# ---------------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------------


def _flag(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    text = value.strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise BadParameter(name, f"expected true or false, got {value!r}")


def _whole(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadParameter(name, f"expected a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise BadParameter(name, f"must be between {low} and {high}")
    return number


def _moment(name: str, value: str | None) -> datetime | None:
    """ISO 8601 date or date-time → naive UTC (how the directory stores ``last_modified``)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if "T" in text and " " in text:
        text = text.replace(" ", "+")  # an unencoded "+01:00" offset arrives as a space in a query string
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(name, f"expected an ISO 8601 date or date-time, got {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@dataclass
class ListParams:
    """The parameters every list endpoint shares."""

    page: int
    per_page: int
    ndjson: bool
    full: bool
    minimal: bool = False
    values: Mapping[str, str] = field(default_factory=dict)


def _list_params(allowed: set[str], *, allow_minimal: bool = False) -> ListParams:
    args = request.args
    for name in args:
        if name not in allowed | _COMMON and not name.startswith("_"):
            raise BadParameter(name, f"unknown parameter; this endpoint takes {', '.join(sorted(allowed | _COMMON))}")
    fmt = (args.get("format") or "json").strip().lower()
    if fmt not in ("json", "ndjson"):
        raise BadParameter("format", "expected json or ndjson")
    minimal = allow_minimal and _flag("minimal", args.get("minimal"))
    full = _flag("full", args.get("full")) if "full" in allowed else False
    if minimal and full:
        raise BadParameter("minimal", "minimal and full cannot both be true")
    # minimal: "aim to return all services within one call" (HSDS openapi) — one page unless per_page is given.
    high = 1_000_000 if minimal else MAX_PER_PAGE
    per_page = _whole("per_page", args.get("per_page"), high if minimal else DEFAULT_PER_PAGE, 1, high)
    page = _whole("page", args.get("page"), 1, 1, 1_000_000)
    return ListParams(page=page, per_page=per_page, ndjson=fmt == "ndjson", full=full, minimal=minimal, values=args)


def _uses_search(args: Mapping[str, str]) -> bool:
    return any(args.get(name) not in (None, "") for name in _SEARCH_PARAMS)


def _refuse_listing_filters_with_search(args: Mapping[str, str], listing_only: tuple[str, ...]) -> None:
    for name in listing_only:
        if args.get(name) not in (None, ""):
            raise BadParameter(
                name, f"{name} cannot be combined with search filters ({', '.join(sorted(_SEARCH_PARAMS))})"
            )


def _search_query(args: Mapping[str, str], page: int, per_page: int) -> tuple[SearchQuery, dict[str, str]]:
    """HSDS + profile parameters → a ``SearchQuery``; also returns engine field → HSDS parameter for errors."""
    # Engine field (SearchError.field) → the HSDS parameter the caller sent, so a 400 names what they typed.
    names: dict[str, str] = {
        name: name for name in ("page", "per_page", "language", "age", "open_now", "free", "accepting")
    }
    names.update(text="search", covering="postcode")
    params: dict[str, Any] = {"page": str(page), "per_page": str(per_page)}

    def given(name: str) -> str | None:
        value = args.get(name)
        return value if value not in (None, "") else None

    if given("category") and given("taxonomy_term_id"):
        raise BadParameter("category", "give category or taxonomy_term_id, not both")
    names["need"] = "category" if given("category") else "taxonomy_term_id"
    params["need"] = given(names["need"])
    params["text"] = given("search")
    lat, lng, postcode, proximity, radius = (given(n) for n in ("lat", "lng", "postcode", "proximity", "radius"))
    if (lat is None) != (lng is None):
        raise BadParameter("lat" if lat is None else "lng", "lat and lng must be given together")
    if proximity is not None and radius is not None:
        raise BadParameter("proximity", "give proximity (metres) or radius (kilometres), not both")
    if lat is not None:
        params["lat"], params["lng"], names["near"] = lat, lng, "lat"
    elif postcode is not None and (proximity is not None or radius is not None):
        params["near"], names["near"] = postcode, "postcode"  # HSDS: proximity from the postcode's centroid
    elif proximity is not None or radius is not None:
        raise BadParameter("proximity" if proximity else "radius", "needs lat and lng, or a postcode")
    if radius is not None:
        params["radius_km"], names["radius_km"] = radius, "radius"
    if proximity is not None:
        try:
            metres = float(proximity)
        except ValueError:
            raise BadParameter("proximity", f"expected metres as a number, got {proximity!r}") from None
        if not math.isfinite(metres):
            raise BadParameter("proximity", "expected a finite number of metres")
        params["radius_km"], names["radius_km"] = str(metres / 1000.0), "proximity"
    params["covering"] = postcode  # HSDS: only services whose service_area covers the postcode
    for name in ("language", "age", "open_now", "free", "accepting"):
        params[name] = given(name)
    try:
        return SearchQuery.from_params(params), names
    except SearchError as error:
        raise BadParameter(names.get(error.field, error.field), error.message) from None


def _run_search(session: Session, query: SearchQuery, names: Mapping[str, str]) -> SearchPage:
    try:
        return search(
            session,
            query,
            geocoder=settings.geocoder(current_app, session),
            default_timezone=settings.default_timezone(current_app),
            contacts=False,  # the documents carry phones, languages and locations themselves
        )
    except SearchError as error:
        raise BadParameter(names.get(error.field, error.field), error.message) from None


def _search_extension(result: SearchResult) -> dict[str, Any]:
    extension: dict[str, Any] = {
        "matched": result.matched,
        "referral_status": result.referral_status,
        "hours": result.hours,
    }
    if result.distance_km is not None:
        extension["distance_km"] = round(result.distance_km, 3)
    if result.location_id is not None:
        extension["location_id"] = result.location_id
    if result.open_now is not None:
        extension["open_now"] = result.open_now
    if result.freshness_days is not None:
        extension["freshness_days"] = result.freshness_days
    return extension


# ---------------------------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------------------------


def page_envelope(contents: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    """The HSDS ``Page`` object (openapi ``components.schemas.Page``) around ``contents``."""
    total_pages = math.ceil(total / per_page) if total else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def _ndjson(lines: Iterator[dict[str, Any]]) -> Response:
    def generate() -> Iterator[bytes]:
        for document in lines:
            yield orjson.dumps(document) + b"\n"

    return Response(stream_with_context(generate()), mimetype="application/x-ndjson")


def _listing(
    params: ListParams,
    statement: Select[Any],
    model: Any,
    render: Callable[[list[Any]], list[dict[str, Any]]],
) -> Response:
    """Run an id-ordered listing as a Page or as ndjson (in chunks, so memory stays flat)."""
    session = db.session
    ordered = statement.order_by(model.id)
    if params.ndjson:

        def lines() -> Iterator[dict[str, Any]]:
            last: str | None = None
            while True:
                chunk_statement = ordered if last is None else ordered.where(model.id > last)
                chunk = list(session.execute(chunk_statement.limit(NDJSON_PAGE)).scalars())
                if not chunk:
                    return
                yield from render(chunk)
                last = chunk[-1].id

        return _ndjson(lines())
    total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    rows = list(session.execute(ordered.offset((params.page - 1) * params.per_page).limit(params.per_page)).scalars())
    return _json(page_envelope(render(rows), total, params.page, params.per_page))


def _searched(
    params: ListParams, query: SearchQuery, names: Mapping[str, str], render: Callable[[list[SearchResult]], list[dict]]
) -> Response:
    session = db.session
    if params.ndjson:
        first = _run_search(session, query, names)  # validate before the stream starts (errors must be a 400)

        def lines() -> Iterator[dict[str, Any]]:
            current = first
            while True:
                yield from render(current.results)
                if current.page >= current.total_pages:
                    return
                current = _run_search(session, _with_page(query, current.page + 1), names)

        return _ndjson(lines())
    found = _run_search(session, query, names)
    return _json(page_envelope(render(found.results), found.total, params.page, params.per_page))


def _with_page(query: SearchQuery, page: int) -> SearchQuery:
    from dataclasses import replace

    return replace(query, page=page)


def _modified_after_condition(moment: datetime) -> Any:
    """Changed on or after ``moment``: ``last_modified`` or, for feeds that do not set it, the HSDS change log."""
    logged = exists().where(
        MetadataEntry.resource_id == Service.id,
        MetadataEntry.resource_type == "service",
        MetadataEntry.last_action_date >= moment.date(),
    )
    return or_(Service.last_modified >= moment, logged)


def _service_filters(statement: Select[Any], args: Mapping[str, str]) -> Select[Any]:
    if organization_id := args.get("organization_id"):
        statement = statement.where(Service.organization_id == organization_id)
    if term_id := args.get("taxonomy_term_id"):
        statement = statement.where(
            exists().where(
                Attribute.link_id == Service.id,
                Attribute.link_entity == "service",
                Attribute.taxonomy_term_id == term_id,
            )
        )
    if taxonomy_id := args.get("taxonomy_id"):
        statement = statement.where(
            exists().where(
                Attribute.link_id == Service.id,
                Attribute.link_entity == "service",
                Attribute.taxonomy_term_id == TaxonomyTerm.id,
                TaxonomyTerm.taxonomy_id == taxonomy_id,
            )
        )
    if (moment := _moment("modified_after", args.get("modified_after"))) is not None:
        statement = statement.where(_modified_after_condition(moment))
    return statement


def _minimal(scalar_doc: dict[str, Any]) -> dict[str, Any]:
    """The ``minimal`` shape: the id and, when known, ``last_modified``."""
    last_modified = scalar_doc.get("last_modified")
    return {"id": scalar_doc["id"], **({"last_modified": last_modified} if last_modified is not None else {})}


def _service_render(params: ListParams) -> Callable[[list[Any]], list[dict[str, Any]]]:
    def render(services: list[Any]) -> list[dict[str, Any]]:
        if params.minimal:
            return [_minimal(scalars("service", s)) for s in services]
        return documents(db.session, "service", services, full=params.full)

    return render


def _searched_services(params: ListParams, results: list[SearchResult]) -> list[dict[str, Any]]:
    """The documents of a search page's services, in result order (rows read straight, no ORM objects)."""
    ids = [r.service_id for r in results]
    if params.minimal:
        return [_minimal(doc) for doc in documents_by_ids(db.session, "service", ids, full=False, nested=False)]
    return documents_by_ids(db.session, "service", ids, full=params.full)


# ---------------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------------


@bp.get("/")
@public
def root() -> ResponseReturnValue:
    """HSDS API root: version, profile and the OpenAPI document it implements."""
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return _json({"version": HSDS_VERSION, "profile": f"{base}/hsds/profile", "openapi_url": OPENAPI_URL})


@bp.get("/profile")
@public
def profile() -> ResponseReturnValue:
    """The hub's HSDS API profile: the extension parameters and the ``search_result`` object."""
    return _json(
        {
            "name": "referral-hub HSDS 3.0 API profile",
            "base": HSDS_VERSION,
            "parameters": PROFILE_PARAMETERS,
            "search_result": {
                "distance_km": "great-circle distance to the matching location (searches near a point)",
                "location_id": "the location the result is for (nearest one when searching near a point)",
                "matched": "why the service matched, one reason per filter",
                "referral_status": "accepting | waitlist | paused",
                "open_now": "open at the time of the request (absent when the hours are unknown)",
                "hours": "today's hours in words",
                "freshness_days": "days since the listing was last verified (assured_date)",
            },
        }
    )


SERVICE_LISTING = ("organization_id", "taxonomy_id", "modified_after")


@bp.get("/services")
@public
def services() -> ResponseReturnValue:
    allowed = {*_SEARCH_PARAMS, "taxonomy_term_id", "minimal", "full", *SERVICE_LISTING}
    params = _list_params(allowed, allow_minimal=True)
    args = params.values
    if _uses_search(args):
        _refuse_listing_filters_with_search(args, SERVICE_LISTING)
        query, names = _search_query(args, params.page, params.per_page)

        def render(results: list[SearchResult]) -> list[dict[str, Any]]:
            docs = _searched_services(params, results)
            if not params.minimal:
                by_id = {r.service_id: r for r in results}
                for doc in docs:
                    doc["search_result"] = _search_extension(by_id[doc["id"]])
            return docs

        return _searched(params, query, names, render)
    statement = _service_filters(select(Service), args)
    return _listing(params, statement, Service, _service_render(params))


@bp.get("/services/<service_id>")
@public
def service(service_id: str) -> ResponseReturnValue:
    found = db.session.get(Service, service_id)
    if found is None:
        return _not_found("service", service_id)
    return _json(documents(db.session, "service", [found], full=True)[0])


@bp.get("/service_at_locations")
@public
def service_at_locations() -> ResponseReturnValue:
    allowed = {*_SEARCH_PARAMS, "taxonomy_term_id", "full", *SERVICE_LISTING}
    params = _list_params(allowed)
    args = params.values

    def render_sals(rows: list[Any]) -> list[dict[str, Any]]:
        return documents(db.session, "service_at_location", rows, full=params.full)

    if _uses_search(args):
        _refuse_listing_filters_with_search(args, SERVICE_LISTING)
        query, names = _search_query(args, params.page, params.per_page)

        def render(results: list[SearchResult]) -> list[dict[str, Any]]:
            pairs = [(r.service_id, r.location_id) for r in results if r.location_id]
            sal_for: dict[tuple[str, str], Any] = {}
            if pairs:
                rows = db.session.execute(
                    select(ServiceAtLocation)
                    .where(ServiceAtLocation.service_id.in_([p[0] for p in pairs]))
                    .order_by(ServiceAtLocation.id)
                ).scalars()
                for row in rows:
                    sal_for.setdefault((row.service_id, row.location_id), row)
            ordered = [
                (r, sal_for[(r.service_id, r.location_id)]) for r in results if (r.service_id, r.location_id) in sal_for
            ]
            docs = render_sals([sal for _, sal in ordered])
            for doc, (result, _) in zip(docs, ordered, strict=True):
                doc["search_result"] = _search_extension(result)
            return docs

        return _searched(params, query, names, render)
    statement = select(ServiceAtLocation).join(Service, Service.id == ServiceAtLocation.service_id)
    statement = _service_filters(statement, args)
    return _listing(params, statement, ServiceAtLocation, render_sals)


@bp.get("/service_at_locations/<sal_id>")
@public
def service_at_location(sal_id: str) -> ResponseReturnValue:
    found = db.session.get(ServiceAtLocation, sal_id)
    if found is None:
        return _not_found("service_at_location", sal_id)
    return _json(documents(db.session, "service_at_location", [found], full=True)[0])


def _text_filter(statement: Select[Any], text: str | None, *columns: Any) -> Select[Any]:
    """Simple case-insensitive search for the small lists (organizations, taxonomies, terms)."""
    if not text:
        return statement
    words = [w for w in text.lower().split() if w][:10]
    return statement.where(
        and_(*(or_(*(func.lower(func.coalesce(c, "")).contains(w, autoescape=True) for c in columns)) for w in words))
    )


@bp.get("/organizations")
@public
def organizations() -> ResponseReturnValue:
    params = _list_params({"search", "full", "full_service"})
    full_service = _flag("full_service", params.values.get("full_service"))
    statement = _text_filter(
        select(Organization), params.values.get("search"), Organization.name, Organization.alternate_name
    )

    def render(rows: list[Any]) -> list[dict[str, Any]]:
        if full_service:
            return [organization_with_services(db.session, row) for row in rows]
        return documents(db.session, "organization", rows, full=params.full)

    return _listing(params, statement, Organization, render)


@bp.get("/organizations/<organization_id>")
@public
def organization(organization_id: str) -> ResponseReturnValue:
    for name in request.args:
        if name != "full_service" and not name.startswith("_"):
            raise BadParameter(name, "unknown parameter; this endpoint takes full_service")
    found = db.session.get(Organization, organization_id)
    if found is None:
        return _not_found("organization", organization_id)
    if _flag("full_service", request.args.get("full_service")):
        return _json(organization_with_services(db.session, found))
    return _json(documents(db.session, "organization", [found], full=True)[0])


@bp.get("/taxonomies")
@public
def taxonomies() -> ResponseReturnValue:
    params = _list_params({"search"})
    statement = _text_filter(select(Taxonomy), params.values.get("search"), Taxonomy.name, Taxonomy.description)
    return _listing(params, statement, Taxonomy, lambda rows: documents(db.session, "taxonomy", rows, full=False))


@bp.get("/taxonomies/<taxonomy_id>")
@public
def taxonomy(taxonomy_id: str) -> ResponseReturnValue:
    found = db.session.get(Taxonomy, taxonomy_id)
    if found is None:
        return _not_found("taxonomy", taxonomy_id)
    return _json(scalars("taxonomy", found))


@bp.get("/taxonomy_terms")
@public
def taxonomy_terms() -> ResponseReturnValue:
    params = _list_params({"search", "taxonomy_id", "parent_id", "top_only"})
    args = params.values
    statement = _text_filter(select(TaxonomyTerm), args.get("search"), TaxonomyTerm.name, TaxonomyTerm.code)
    if taxonomy_id := args.get("taxonomy_id"):
        statement = statement.where(TaxonomyTerm.taxonomy_id == taxonomy_id)
    if parent_id := args.get("parent_id"):
        statement = statement.where(TaxonomyTerm.parent_id == parent_id)
    if _flag("top_only", args.get("top_only")):
        statement = statement.where(TaxonomyTerm.parent_id.is_(None))
    return _listing(
        params, statement, TaxonomyTerm, lambda rows: documents(db.session, "taxonomy_term", rows, full=False)
    )


@bp.get("/taxonomy_terms/<term_id>")
@public
def taxonomy_term(term_id: str) -> ResponseReturnValue:
    found = db.session.get(TaxonomyTerm, term_id)
    if found is None:
        return _not_found("taxonomy_term", term_id)
    return _json(documents(db.session, "taxonomy_term", [found], full=False)[0])


__all__ = ["PROFILE_PARAMETERS", "BadParameter", "bp", "page_envelope"]
