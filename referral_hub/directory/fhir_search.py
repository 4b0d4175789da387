"""``GET /fhir/HealthcareService?location.near=lat|lon|distance|units``: distance search over the FHIR projection.

The FHIR store indexes tokens, strings and references, not geometry; the directory's search service
(``resource_directory.search``) already answers "services near this point, nearest first" with a spatial index on
both databases. So a HealthcareService search that uses the chained ``location.near`` parameter (R4
``Location-near`` through ``HealthcareService.location``) is answered by that one service — the same one behind
the staff UI and ``/hsds`` — and the projected HealthcareService resources are returned in its order, each entry
carrying the standard ``location-distance`` extension in ``Bundle.entry.search``.

Parameters that can be combined with ``location.near`` map onto the search service's filters:

===================  =====================================================================================
FHIR                 directory search
===================  =====================================================================================
``location.near``    point and radius (``lat|lon|distance|units``; units km, m, mi, ``[mi_i]``, ``[mi_us]``;
                     no distance = no limit, nearest first)
``service-category`` need: an SDOH category code (``food-insecurity``, any system or the SDOHCC one) or a
                     taxonomy term code; one value
``communication``    language (ISO 639 / BCP-47 primary tag), one value
``_content``         free text (full-text search over name, description, organization, taxonomy)
``active``           ``true`` only (inactive listings are never searched)
===================  =====================================================================================

Any other parameter with ``location.near`` is refused with 400 naming it, rather than silently ignored: a partner
must not get a list that looks filtered when it is not.
"""

from __future__ import annotations

import math
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_hub.directory import settings
from referral_hub.directory.fhir_mapping import fhir_id
from referral_hub.fhir.models import FhirResource
from referral_hub.fhir.outcomes import FhirError
from referral_hub.fhir.search import (
    DEFAULT_COUNT,
    ScopeFilter,
    SearchRequest,
    SearchResult,
    parse_search,
    resolve_includes,
)
from resource_directory.search import SearchError, SearchQuery, search
from resource_directory.search.query import MAX_PER_PAGE

NEAR = "location.near"
NEAR_DEFINITION = "http://hl7.org/fhir/SearchParameter/Location-near"
NEAR_DOCUMENTATION = (
    "Chained Location-near through HealthcareService.location: latitude|longitude|distance|units (km, m, mi, "
    "[mi_i], [mi_us]); nearest first, each entry with the location-distance extension. Combines with "
    "service-category (SDOH category or taxonomy code), communication, _content and active=true."
)
DISTANCE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/location-distance"
UCUM = "http://unitsofmeasure.org"
#: Distance units accepted in ``location.near`` → kilometres per unit.
UNITS_KM = {"km": 1.0, "m": 0.001, "mi": 1.609344, "[mi_i]": 1.609344, "[mi_us]": 1.609347}
_FILTERS = {NEAR, "service-category", "communication", "_content", "active"}
_RESULT = {"_count", "_cursor", "_total", "_include", "_revinclude", "_format", "_pretty", "_summary", "_elements"}
_BCP47 = "urn:ietf:bcp:47"


def _bad(message: str, expression: str, code: str = "invalid") -> FhirError:
    return FhirError.single(400, code, message, expression)


def parse_near(value: str) -> tuple[float, float, float | None, str]:
    """``lat|lon[|distance[|units]]`` → (lat, lon, radius in km or None, units as given)."""
    parts = value.split("|")
    if len(parts) < 2 or len(parts) > 4:
        raise _bad("location.near takes latitude|longitude|distance|units, e.g. 37.48|-122.21|5|[mi_us]", NEAR)
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        message = f"location.near: latitude and longitude must be numbers, got {parts[0]!r}, {parts[1]!r}"
        raise _bad(message, NEAR) from None
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad(f"location.near: coordinates out of range: {lat}, {lon}", NEAR)
    units = (parts[3] if len(parts) == 4 else "") or "km"
    if units not in UNITS_KM:
        raise _bad(f"location.near: unknown distance unit {units!r}; use one of {', '.join(UNITS_KM)}", NEAR)
    radius: float | None = None
    if len(parts) >= 3 and parts[2] != "":
        try:
            distance = float(parts[2])
        except ValueError:
            raise _bad(f"location.near: distance must be a number, got {parts[2]!r}", NEAR) from None
        if not math.isfinite(distance) or distance < 0:
            raise _bad("location.near: distance must be a non-negative number", NEAR)
        radius = distance * UNITS_KM[units]
    return lat, lon, radius, units


def _token(name: str, value: str, systems: tuple[str, ...] | None = None) -> str:
    if "," in value:
        raise _bad(f"{name}: one value only when searching with location.near", name, "not-supported")
    system, bar, code = value.partition("|")
    if not bar:
        return value.strip()
    if systems is not None and system and system not in systems:
        raise _bad(f"{name}: codes of {system} are not searchable here; use {' or '.join(systems)}", name)
    return code.strip()


def _cursor_page(value: str) -> int:
    prefix, _, number = value.partition("-")
    if prefix != "page" or not number.isdigit() or int(number) < 1:
        raise _bad("The paging cursor is not valid; start the search again", "_cursor")
    return int(number)


def _query(args: list[tuple[str, str]]) -> tuple[SearchQuery, str, list[tuple[str, str]]]:
    """The directory query, the requested distance units, and the include parameters (for the store)."""
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    units = "km"
    page, per_page = 1, DEFAULT_COUNT
    includes: list[tuple[str, str]] = []
    for raw_name, value in args:
        name = raw_name.partition(":")[0]
        if ":" in raw_name and name in _FILTERS:
            raise _bad(f"Modifiers are not supported with location.near ({raw_name})", raw_name, "not-supported")
        if name in _FILTERS and name in seen:
            raise _bad(f"{name} may be given once when searching with location.near", name, "not-supported")
        seen.add(name)
        if name == NEAR:
            lat, lon, radius, units = parse_near(value)
            fields["near"], fields["radius_km"] = (lat, lon), radius
        elif name == "service-category":
            fields["need"] = _token(name, value)
        elif name == "communication":
            fields["language"] = _token(name, value, (_BCP47,)).split("-")[0]
        elif name == "_content":
            fields["text"] = value
        elif name == "active":
            if value != "true":
                raise _bad("Only active services are searched by distance (active=true)", "active", "not-supported")
        elif name == "_count":
            if not value.isdigit():
                raise _bad("_count must be a non-negative integer", "_count")
            per_page = max(1, min(int(value), MAX_PER_PAGE))
        elif name == "_cursor":
            page = _cursor_page(value)
        elif name in ("_include", "_revinclude"):
            includes.append((raw_name, value))
        elif name not in _RESULT:
            raise _bad(
                f"Search parameter '{raw_name}' cannot be combined with location.near (supported: "
                "service-category, communication, _content, active, _count, _include, _revinclude)",
                raw_name,
                "not-supported",
            )
    try:
        return SearchQuery(page=page, per_page=per_page, **fields), units, includes
    except SearchError as error:
        raise _bad(error.message, _PARAM_FOR_FIELD.get(error.field, error.field)) from None


_PARAM_FOR_FIELD = {"need": "service-category", "language": "communication", "text": "_content", "near": NEAR}


def near_search(
    session: Session, args: list[tuple[str, str]], local_bases: tuple[str, ...], scope: ScopeFilter | None
) -> SearchResult:
    """The ``SpecialSearch`` registered for ``HealthcareService`` + ``location.near``."""
    query, units, include_args = _query(args)
    try:
        page = search(
            session,
            query,
            geocoder=settings.geocoder(current_app, session),
            default_timezone=settings.default_timezone(current_app),
        )
    except SearchError as error:
        raise _bad(error.message, _PARAM_FOR_FIELD.get(error.field, error.field)) from None
    ids = [fhir_id("HealthcareService", result.service_id) for result in page.results]
    statement = select(FhirResource).where(
        FhirResource.resource_type == "HealthcareService", FhirResource.resource_id.in_(ids)
    )
    if scope is not None:
        statement = scope(statement, "HealthcareService")
    rows = {row.resource_id: row for row in session.execute(statement).scalars()} if ids else {}
    matches, extras = [], {}
    for result, resource_id in zip(page.results, ids, strict=True):
        row = rows.get(resource_id)
        if row is None:
            continue  # listed in the directory but not projected yet (the projection job runs after imports)
        matches.append(row)
        if result.distance_km is not None:
            value = result.distance_km / UNITS_KM[units]
            code = "[mi_i]" if units == "mi" else units  # Distance.code must be UCUM: "mi" is not
            extras[row.pk] = {
                "extension": [
                    {
                        "url": DISTANCE_EXTENSION,
                        "valueDistance": {"value": round(value, 3), "unit": units, "system": UCUM, "code": code},
                    }
                ]
            }
    request: SearchRequest = parse_search("HealthcareService", include_args, local_bases)
    included = resolve_includes(session, request, matches, scope)
    next_cursor = f"page-{page.page + 1}" if page.page < page.total_pages else None
    previous_cursor = f"page-{page.page - 1}" if page.page > 1 else None
    return SearchResult(matches, included, page.total, next_cursor, previous_cursor, extras)
