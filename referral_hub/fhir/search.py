"""FHIR search over the store's index tables.

Each search parameter becomes one ``pk IN (SELECT resource_pk FROM <index table> WHERE …)`` clause (values of one
parameter are ORed, repeated parameters are ANDed), which every supported database turns into an index range scan
plus a semi-join. Paging is keyset-based: the next/previous links carry the sort key of the last/first entry on the
page, so entries created or updated by other writers while a client pages never shift a page or make an entry
appear twice on consecutive pages (offset paging would).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from referral_hub.fhir import indexer
from referral_hub.fhir.batch import flush_batch
from referral_hub.fhir.datetimes import parse_range
from referral_hub.fhir.models import (
    DateIndex,
    FhirResource,
    NumberIndex,
    ReferenceIndex,
    StringIndex,
    TokenIndex,
    UriIndex,
)
from referral_hub.fhir.outcomes import FhirError, OutcomeIssue
from referral_hub.fhir.references import parse_reference
from referral_hub.fhir.search_params import SearchParam, params_for

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_INCLUDED = 2000
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_RESULT_PARAMS = {
    "_count",
    "_sort",
    "_total",
    "_include",
    "_revinclude",
    "_summary",
    "_cursor",
    "_format",
    "_elements",
    "_pretty",
}
_SORTABLE = {"_lastUpdated", "_id"}
# Plain Core columns, not the ORM attributes: a search builds a dozen expressions per parameter, and ORM
# attribute operators cost about twice as much to build; the page is read as plain rows for the same reason.
_RES = FhirResource.__table__.c
_TOKEN = TokenIndex.__table__.c
_REFERENCE = ReferenceIndex.__table__.c
_DATE = DateIndex.__table__.c
_STRING = StringIndex.__table__.c
_NUMBER = NumberIndex.__table__.c
_URI = UriIndex.__table__.c
#: The columns of a search result row (attribute names as on :class:`FhirResource`).
_ROW_COLUMNS = (_RES.pk, _RES.resource_type, _RES.resource_id, _RES.version_id, _RES.last_updated, _RES.body)
_TABLE_FOR_TYPE = {
    "token": _TOKEN,
    "reference": _REFERENCE,
    "date": _DATE,
    "string": _STRING,
    "number": _NUMBER,
    "quantity": _NUMBER,
    "uri": _URI,
}

#: Adds the caller's visibility rules (organisation compartments) to a query over ``FhirResource``; the second
#: argument names the resource type when the query is about one type (lets the filter emit a simpler condition).
ScopeFilter = Callable[..., Select[Any]]


#: A stored resource as searches return it: a row with ``pk``, ``resource_type``, ``resource_id``,
#: ``version_id``, ``last_updated`` and ``body`` (a Core row here; special searches may return ORM objects).
ResourceRow = Any


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str
    target_type: str | None
    iterate: bool = False


@dataclass
class SearchRequest:
    """A parsed search; ``applied`` are the (name, value) pairs that were honoured (for the self link)."""

    resource_type: str
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    applied: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort: tuple[str, bool] = ("_pk", False)  # (key, descending)
    total: str = "accurate"
    summary_count: bool = False
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    cursor: tuple[str, list[Any]] | None = None  # (direction, key values of the boundary entry)


@dataclass
class SearchResult:
    matches: list[ResourceRow]
    included: list[ResourceRow]
    total: int | None
    next_cursor: str | None
    previous_cursor: str | None
    #: Extra ``Bundle.entry.search`` content per matching resource pk (e.g. a distance extension).
    entry_search: dict[int, dict[str, Any]] = field(default_factory=dict)


#: A search the index tables cannot answer (distance), run by another service: (session, args, local bases,
#: scope) → a result whose ``matches`` are in that service's order. ``args`` are the raw query parameters.
SpecialSearch = Callable[[Session, list[tuple[str, str]], tuple[str, ...], "ScopeFilter | None"], SearchResult]
_SPECIAL: dict[tuple[str, str], SpecialSearch] = {}
#: (resource type, parameter) → (definition, documentation) of the special parameters, for the CapabilityStatement.
SPECIAL_PARAMS: dict[tuple[str, str], tuple[str, str]] = {}


def register_special_search(
    resource_type: str, param: str, handler: SpecialSearch, *, definition: str, documentation: str
) -> None:
    """Route searches of ``resource_type`` that use ``param`` (e.g. ``location.near``) to ``handler``.

    Keeps this module free of the services behind such parameters (the directory registers its distance search
    here), while the API, bundles, access control and audit stay one code path.
    """
    _SPECIAL[(resource_type, param)] = handler
    SPECIAL_PARAMS[(resource_type, param)] = (definition, documentation)


def special_search(resource_type: str, args: Iterable[tuple[str, str]]) -> SpecialSearch | None:
    """The handler for a search that uses a registered special parameter, if any."""
    for name, _value in args:
        handler = _SPECIAL.get((resource_type, name.partition(":")[0]))
        if handler is not None:
            return handler
    return None


def run_search(
    session: Session,
    resource_type: str,
    args: Sequence[tuple[str, str]],
    local_bases: Sequence[str],
    scope: ScopeFilter | None,
    *,
    strict: bool = False,
) -> tuple[SearchRequest, SearchResult]:
    """Parse and run a search, through a registered special handler when one of its parameters needs one."""
    special = special_search(resource_type, args)
    if special is not None:
        bases = tuple(b.rstrip("/") for b in local_bases)
        return SearchRequest(resource_type), special(session, list(args), bases, scope)
    parsed = parse_search(resource_type, args, local_bases, strict=strict)
    return parsed, execute_search(session, parsed, scope)


def resolve_includes(
    session: Session, request: SearchRequest, rows: list[ResourceRow], scope: ScopeFilter | None
) -> list[ResourceRow]:
    """``_include``/``_revinclude`` of ``request`` for ``rows`` (special searches reuse the store's includes)."""
    return _resolve_includes(session, request, rows, scope)


def _bad(diagnostics: str, expression: str | None = None, code: str = "invalid") -> FhirError:
    return FhirError.single(400, code, diagnostics, expression)


# ---- parsing ----------------------------------------------------------------------------------------------------
def parse_search(
    resource_type: str, args: Iterable[tuple[str, str]], local_bases: Sequence[str], *, strict: bool = False
) -> SearchRequest:
    """Turn query parameters into a :class:`SearchRequest`.

    Unknown parameters are ignored and reported (FHIR's default ``handling=lenient``); with ``strict`` they are
    a 400, as ``Prefer: handling=strict`` asks.
    """
    request = SearchRequest(resource_type)
    registry = params_for(resource_type)
    bases = tuple(b.rstrip("/") for b in local_bases)
    for raw_name, value in args:
        if "\x00" in raw_name or "\x00" in value:  # PostgreSQL text cannot hold NUL: refuse it here, not with a 500
            raise _bad("Search parameters cannot contain the NUL character", raw_name.replace("\x00", ""))
        name, _, modifier = raw_name.partition(":")
        if name in _RESULT_PARAMS:
            _parse_result_param(request, name, modifier, value, registry)
            continue
        if name == "_id":
            ids = [v for v in value.split(",") if v]
            if modifier == "missing":
                continue  # every resource has an id
            request.conditions.append(_RES.resource_id.in_(ids) if ids else false())
            request.applied.append((raw_name, value))
            continue
        if name == "_lastUpdated":
            request.conditions.append(_or(_date_condition(v, _RES.last_updated, None, name) for v in _split(value)))
            request.applied.append((raw_name, value))
            continue
        param = registry.get(name)
        if param is None:
            if strict:
                raise _bad(f"Unknown search parameter '{name}' for {resource_type}", code="not-supported")
            request.ignored.append(raw_name)
            continue
        request.conditions.append(_param_condition(resource_type, param, modifier, value, bases))
        request.applied.append((raw_name, value))
    return request


def _split(value: str) -> list[str]:
    """Comma-separated OR values; ``\\,`` is a literal comma."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p != ""]


def _or(conditions: Iterable[ColumnElement[bool]]) -> ColumnElement[bool]:
    items = list(conditions)
    if not items:
        return false()
    return items[0] if len(items) == 1 else or_(*items)


def _parse_result_param(
    request: SearchRequest, name: str, modifier: str, value: str, registry: dict[str, SearchParam] | Any
) -> None:
    if name == "_count":
        if not value.isdigit():
            raise _bad("_count must be a non-negative integer", "_count")
        request.count = min(int(value), MAX_COUNT)
        if request.count == 0:
            request.summary_count = True
    elif name == "_sort":
        keys = [k for k in value.split(",") if k]
        if len(keys) != 1 or keys[0].lstrip("-") not in _SORTABLE:
            raise _bad("_sort supports one of _lastUpdated, -_lastUpdated, _id, -_id", "_sort", "not-supported")
        request.sort = (keys[0].lstrip("-"), keys[0].startswith("-"))
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise _bad("_total must be none, estimate or accurate", "_total")
        request.total = value
    elif name == "_summary":
        if value == "count":
            request.summary_count = True
        elif value != "false":
            request.ignored.append(f"_summary={value}")
    elif name in ("_include", "_revinclude"):
        include = _parse_include(value, modifier == "iterate", name)
        (request.includes if name == "_include" else request.revincludes).append(include)
    elif name == "_cursor":
        request.cursor = _decode_cursor(value)
    elif name == "_format":
        if value not in ("json", "application/json", "application/fhir+json"):
            raise FhirError.single(406, "not-supported", "Only JSON is supported (_format=json)", "_format")
    elif name in ("_elements",):
        request.ignored.append(name)


def _parse_include(value: str, iterate: bool, name: str) -> Include:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise _bad(f"{name} must look like Type:param or Type:param:TargetType", name)
    source_type, param_code = parts[0], parts[1]
    target_type = parts[2] if len(parts) == 3 else None
    param = params_for(source_type).get(param_code) if source_type in indexer_types() else None
    if param is None or param.type != "reference":
        raise _bad(
            f"{name}={value}: {source_type} has no reference search parameter '{param_code}'", name, "not-supported"
        )
    if target_type is not None and param.targets and target_type not in param.targets:
        raise _bad(f"{name}={value}: '{param_code}' cannot point to {target_type}", name)
    return Include(source_type, param_code, target_type, iterate)


def indexer_types() -> frozenset[str]:
    from referral_hub.fhir.search_params import all_resource_types

    return frozenset(all_resource_types())


def _encode_cursor(direction: str, values: list[Any]) -> str:
    encoded = []
    for value in values:
        encoded.append(value.isoformat() if isinstance(value, datetime) else value)
    raw = json.dumps([direction, encoded], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[str, list[Any]]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        direction, values = json.loads(raw)
        if direction not in ("next", "prev") or not isinstance(values, list) or len(values) != 2:
            raise ValueError(direction)
        return direction, values
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError):
        raise _bad("The paging cursor is not valid; start the search again", "_cursor") from None


# ---- conditions per parameter type ------------------------------------------------------------------------------
def _param_condition(
    resource_type: str, param: SearchParam, modifier: str, value: str, bases: tuple[str, ...]
) -> ColumnElement[bool]:
    table = _TABLE_FOR_TYPE.get(param.type)
    if table is None:
        raise _bad(
            f"Search parameter '{param.code}' of type {param.type} is not supported", param.code, "not-supported"
        )
    scope = and_(table.resource_type == resource_type, table.param == param.code)
    if modifier == "missing":
        if value not in ("true", "false"):
            raise _bad(f"{param.code}:missing takes true or false", param.code)
        present = _RES.pk.in_(select(table.resource_pk).where(scope))
        return not_(present) if value == "true" else present
    values = _split(value)
    if not values:
        raise _bad(f"Search parameter '{param.code}' needs a value", param.code)
    if param.type == "token":
        if modifier not in ("", "not"):
            raise _bad(f"Modifier :{modifier} is not supported on token parameters", param.code, "not-supported")
        match = _or(_token_condition(v) for v in values)
        matching = _RES.pk.in_(select(_TOKEN.resource_pk).where(scope, match))
        return not_(matching) if modifier == "not" else matching
    if param.type == "reference":
        match = _or(_reference_condition(v, modifier, param, bases) for v in values)
    elif param.type == "date":
        if modifier:
            raise _bad(f"Modifier :{modifier} is not supported on date parameters", param.code, "not-supported")
        match = _or(_date_condition(v, _DATE.low, _DATE.high, param.code) for v in values)
    elif param.type == "string":
        match = _or(_string_condition(v, modifier, param.code) for v in values)
    elif param.type in ("number", "quantity"):
        if modifier:
            raise _bad(f"Modifier :{modifier} is not supported on {param.type} parameters", param.code, "not-supported")
        match = _or(_number_condition(v, param) for v in values)
    else:  # uri
        if modifier not in ("", "below"):
            raise _bad(f"Modifier :{modifier} is not supported on uri parameters", param.code, "not-supported")
        if modifier == "below":
            match = _or(_URI.value.startswith(v, autoescape=True) for v in values)
        else:
            match = _or(_uri_condition(v) for v in values)
    return _RES.pk.in_(select(table.resource_pk).where(scope, match))


def _token_condition(value: str) -> ColumnElement[bool]:
    if "|" in value:
        system, _, code = value.partition("|")
        if system and code:
            return and_(_TOKEN.system == system, _TOKEN.code == code)
        if system:
            return _TOKEN.system == system
        return and_(_TOKEN.system.is_(None), _TOKEN.code == code)
    return _TOKEN.code == value


def _reference_condition(value: str, modifier: str, param: SearchParam, bases: tuple[str, ...]) -> ColumnElement[bool]:
    if modifier and modifier not in param.targets and modifier not in indexer_types():
        raise _bad(f"Modifier :{modifier} is not supported on reference parameters", param.code, "not-supported")
    if modifier:  # owner:Organization=123
        return and_(_REFERENCE.target_type == modifier, _REFERENCE.target_id == value)
    parsed = parse_reference(value, bases)
    if parsed is None:
        raise _bad(f"'{value}' is not a reference", param.code)
    if parsed.is_local:
        return and_(_REFERENCE.target_type == parsed.target_type, _REFERENCE.target_id == parsed.target_id)
    url = parsed.url or ""
    if "/" not in url and ":" not in url:  # a bare id: any target type
        return and_(_REFERENCE.target_id == url, _REFERENCE.url.is_(None))
    if "|" not in url and not url.startswith("urn:"):
        # a canonical without a version matches every version of it (FHIR R4 §3.1.1.4.7)
        return or_(_REFERENCE.url == url, _REFERENCE.url.startswith(url + "|", autoescape=True))
    return _REFERENCE.url == url


def _uri_condition(value: str) -> ColumnElement[bool]:
    return _URI.value == value


def _prefixed(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in _PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def _date_condition(
    value: str, low_col: ColumnElement[Any] | Any, high_col: ColumnElement[Any] | Any | None, name: str
) -> ColumnElement[bool]:
    prefix, text = _prefixed(value)
    parsed = parse_range(text)
    if parsed is None:
        raise _bad(f"'{text}' is not a FHIR date, dateTime or instant", name)
    vlow, vhigh = parsed
    rlow, rhigh = low_col, high_col if high_col is not None else low_col
    if prefix == "eq":
        return and_(rlow >= vlow, rhigh <= vhigh)
    if prefix == "ne":
        return or_(rlow < vlow, rhigh > vhigh)
    if prefix == "gt":
        return rhigh > vhigh
    if prefix == "lt":
        return rlow < vlow
    if prefix == "ge":
        return rhigh >= vlow
    if prefix == "le":
        return rlow <= vhigh
    if prefix == "sa":
        return rlow > vhigh
    if prefix == "eb":
        return rhigh < vlow
    # ap: within 10% of the distance from now, at least a day (FHIR leaves the margin to the server)
    from referral_hub.db_types import utcnow

    margin = max(abs(utcnow() - vlow) * 0.1, timedelta(days=1))
    return and_(rhigh >= vlow - margin, rlow <= vhigh + margin)


def _string_condition(value: str, modifier: str, name: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return _STRING.exact == value
    normalized = indexer.normalize_string(value)
    if modifier == "contains":
        return _STRING.value.contains(normalized, autoescape=True)
    if modifier:
        raise _bad(f"Modifier :{modifier} is not supported on string parameters", name, "not-supported")
    return _STRING.value.startswith(normalized, autoescape=True)


def _number_condition(value: str, param: SearchParam) -> ColumnElement[bool]:
    number_text, system, code = value, None, None
    if param.type == "quantity" and "|" in value:
        number_text, system, code = (value.split("|") + ["", ""])[:3]
    prefix, text = _prefixed(number_text)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _bad(f"'{text}' is not a number", param.code) from None
    if not number.is_finite():
        raise _bad(f"'{text}' is not a finite number", param.code)
    # Implicit precision: "100" means [99.5, 100.5) (FHIR R4 §3.1.1.4.1).
    exponent = number.as_tuple().exponent
    half = Decimal(5) * Decimal(10) ** (exponent - 1) if isinstance(exponent, int) else Decimal(0)
    col = _NUMBER.value
    ops = {
        "eq": and_(col >= number - half, col < number + half),
        "ne": or_(col < number - half, col >= number + half),
        "gt": col > number,
        "lt": col < number,
        "ge": col >= number,
        "le": col <= number,
        "sa": col > number,
        "eb": col < number,
        "ap": and_(col >= number - abs(number) * Decimal("0.1"), col <= number + abs(number) * Decimal("0.1")),
    }
    condition = ops[prefix]
    if system:
        condition = and_(condition, _NUMBER.system == system)
    if code:
        condition = and_(condition, _NUMBER.code == code)
    return condition


# ---- execution --------------------------------------------------------------------------------------------------
def _sort_columns(request: SearchRequest) -> list[Any]:
    key, _desc = request.sort
    if key == "_lastUpdated":
        return [_RES.last_updated, _RES.pk]
    if key == "_id":
        return [_RES.resource_id, _RES.pk]
    return [_RES.pk, _RES.pk]


def _row_key(row: ResourceRow, request: SearchRequest) -> list[Any]:
    key = request.sort[0]
    if key == "_lastUpdated":
        return [row.last_updated, row.pk]
    if key == "_id":
        return [row.resource_id, row.pk]
    return [row.pk, row.pk]


def _keyset(request: SearchRequest, after: bool, values: list[Any]) -> ColumnElement[bool]:
    first_col, pk_col = _sort_columns(request)
    first, pk = values
    if request.sort[0] == "_lastUpdated" and isinstance(first, str):
        first = datetime.fromisoformat(first)
    forward = after != request.sort[1]  # ascending "after" or descending "before" means "greater than"
    if forward:
        return or_(first_col > first, and_(first_col == first, pk_col > pk))
    return or_(first_col < first, and_(first_col == first, pk_col < pk))


def base_query(request: SearchRequest, scope: ScopeFilter | None) -> Select[Any]:
    query = select(*_ROW_COLUMNS).where(_RES.resource_type == request.resource_type, *request.conditions)
    return scope(query, request.resource_type) if scope else query


def execute_search(session: Session, request: SearchRequest, scope: ScopeFilter | None = None) -> SearchResult:
    """Run the search: one page of matches, its includes, the total and the neighbouring cursors."""
    flush_batch(session)  # rows deferred earlier in this transaction (grants) decide visibility
    query = base_query(request, scope)
    total: int | None = None
    if request.summary_count:
        total = _count(session, query)
        return SearchResult([], [], total, None, None)

    first_col, pk_col = _sort_columns(request)
    descending = request.sort[1]
    direction = "next"
    page_query = query
    if request.cursor is not None:
        direction, values = request.cursor
        page_query = page_query.where(_keyset(request, direction == "next", values))
    backwards = direction == "prev"
    reverse_order = descending != backwards
    order = [first_col.desc(), pk_col.desc()] if reverse_order else [first_col.asc(), pk_col.asc()]
    if request.sort[0] == "_pk":
        order = [pk_col.desc()] if reverse_order else [pk_col.asc()]
    rows = list(session.execute(page_query.order_by(*order).limit(request.count + 1)).all())
    has_more = len(rows) > request.count
    rows = rows[: request.count]
    if backwards:
        rows.reverse()
    next_cursor = previous_cursor = None
    if rows:
        more_after = has_more if not backwards else True
        more_before = has_more if backwards else request.cursor is not None
        if more_after:
            next_cursor = _encode_cursor("next", _row_key(rows[-1], request))
        if more_before:
            previous_cursor = _encode_cursor("prev", _row_key(rows[0], request))
    if request.total != "none":
        # A first page that is not full holds every match: no second pass over the index is needed.
        total = len(rows) if request.cursor is None and not has_more else _count(session, query)
    included = _resolve_includes(session, request, rows, scope)
    return SearchResult(rows, included, total, next_cursor, previous_cursor)


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())


def _resolve_includes(
    session: Session, request: SearchRequest, rows: list[ResourceRow], scope: ScopeFilter | None
) -> list[ResourceRow]:
    if not rows or not (request.includes or request.revincludes):
        return []
    seen = {row.pk for row in rows}
    included: list[ResourceRow] = []
    frontier = list(rows)
    for depth in range(3):  # :iterate follows at most three hops, enough for Task→SR→Consent→DocumentReference
        includes = [i for i in request.includes if depth == 0 or i.iterate]
        revincludes = [i for i in request.revincludes if depth == 0 or i.iterate]
        if not includes and not revincludes:
            break
        found: list[ResourceRow] = []
        for inc in includes:
            found.extend(_forward_include(session, inc, frontier, scope))
        for inc in revincludes:
            found.extend(_reverse_include(session, inc, frontier, scope))
        frontier = []
        for row in found:
            if row.pk not in seen and len(included) < MAX_INCLUDED:
                seen.add(row.pk)
                included.append(row)
                frontier.append(row)
        if not frontier:
            break
    return included


def _forward_include(
    session: Session, inc: Include, rows: list[ResourceRow], scope: ScopeFilter | None
) -> list[ResourceRow]:
    sources = [row.pk for row in rows if row.resource_type == inc.source_type]
    if not sources:
        return []
    targets = select(_REFERENCE.target_type, _REFERENCE.target_id).where(
        _REFERENCE.resource_pk.in_(sources),
        _REFERENCE.param == inc.param,
        _REFERENCE.url.is_(None),
        _REFERENCE.target_type == inc.target_type if inc.target_type else true(),
    )
    pairs = {(t, i) for t, i in session.execute(targets) if t and i}
    return _fetch_pairs(session, pairs, scope)


def _reverse_include(
    session: Session, inc: Include, rows: list[ResourceRow], scope: ScopeFilter | None
) -> list[ResourceRow]:
    by_type: dict[str, list[str]] = {}
    for row in rows:
        if inc.target_type is None or inc.target_type == row.resource_type:
            by_type.setdefault(row.resource_type, []).append(row.resource_id)
    if not by_type:
        return []
    referencing = select(_REFERENCE.resource_pk).where(
        _REFERENCE.resource_type == inc.source_type,
        _REFERENCE.param == inc.param,
        _or(and_(_REFERENCE.target_type == rtype, _REFERENCE.target_id.in_(ids)) for rtype, ids in by_type.items()),
    )
    query = select(*_ROW_COLUMNS).where(_RES.pk.in_(referencing)).order_by(_RES.pk).limit(MAX_INCLUDED)
    if scope:
        query = scope(query)
    return list(session.execute(query).all())


def _fetch_pairs(session: Session, pairs: set[tuple[str, str]], scope: ScopeFilter | None) -> list[ResourceRow]:
    if not pairs:
        return []
    by_type: dict[str, list[str]] = {}
    for rtype, rid in pairs:
        by_type.setdefault(rtype, []).append(rid)
    query = (
        select(*_ROW_COLUMNS)
        .where(_or(and_(_RES.resource_type == rtype, _RES.resource_id.in_(ids)) for rtype, ids in by_type.items()))
        .order_by(_RES.pk)
        .limit(MAX_INCLUDED)
    )
    if scope:
        query = scope(query)
    return list(session.execute(query).all())


def ignored_outcome(request: SearchRequest) -> list[OutcomeIssue]:
    """Warnings for parameters the search did not apply (shown as a ``search.mode=outcome`` entry)."""
    return [
        OutcomeIssue("warning", "not-supported", f"Search parameter '{name}' was ignored", name)
        for name in request.ignored
    ]
