"""Search-index values of a FHIR R4 resource, driven by the ``search_params`` registry.

The store calls ``extract_index`` on every create/update and writes the values as index rows in the same
transaction (architecture.md; issue 2 scope 3). This module is pure: no Flask, no database.

How values are made (R4 §3.1.1 "search" rules, simplified where noted):

* token — each Coding of a CodeableConcept (system, code); Coding; Identifier (system, value); ContactPoint
  (``system`` code such as ``phone``, value) — the HAPI convention, so ``telecom=phone|555`` works; code, boolean
  (``"true"``/``"false"``), string, id, uri (system None). A CodeableConcept without codings gives no token.
  Group ``characteristic-value``/``value`` also index a valueReference's literal reference as a code (see the
  registry documentation).
* reference — the literal ``Reference.reference`` as written (relative, absolute or canonical); canonical-typed
  elements (``QuestionnaireResponse.questionnaire``, ``instantiatesCanonical``) give their URL. Contained
  (``#x``) and identifier-only references give nothing. ``where(resolve() is X)`` keeps references whose type
  (from the literal, else ``Reference.type``) is X.
* date — tz-aware UTC ``[low, high]``: a partial date/dateTime covers its whole precision ("2020" → the year);
  a dateTime without zone is taken as UTC; Period → start..end with an open end at ``DATETIME_MIN``/``MAX``;
  Timing → its ``event`` values only.
* string — raw text; HumanName and Address give each part (text, family, given, prefix, suffix / text, line,
  city, district, state, postalCode, country). ``normalize_string`` is for the store's comparable column.
* number, quantity — ``Decimal`` from the JSON number's text; a Range, Ratio or SampledData, or a Quantity without a
  numeric value, gives nothing.
* uri — the string.

Malformed-but-parsed data yields fewer values, never an exception (a fuzz test mutates the IG examples).

Performance — decision for issue 2 scope 8 (budget: < 150 µs per referral Task, < 400 µs per Observation).
Measured with ``python -m tests.fhir_indexing.bench_extract`` on the 2-core dev machine, Python 3.11, idle
(figures roughly double when other work shares the machine; the ratio stays ~10x):

=================================  ==========================  =======================================
IG example                         ``extract_index`` (all)     fhirpathpy 2.2.4, pre-compiled, R4 model,
                                                               evaluation only (no conversion)
=================================  ==========================  =======================================
completed referral Task            ~27 µs (11 values)          ~230 µs
HVS screening Observation          ~33 µs (12 values)          ~350 µs
OMB race Observation (components)  ~40 µs (14 values)          ~400 µs, and 2 expressions *raise*
Patient                            ~57 µs (33 values)          ~430 µs
=================================  ==========================  =======================================

fhirpathpy is over the Task budget before any conversion, lacks ``resolve()`` (every R4 ``patient`` parameter uses it),
and raises "Expected singleton on left side of 'as'" on R4's own ``(Observation.component.value as
CodeableConcept)`` for multi-component Observations. So ``fhirpath_lite`` compiles the registry's published
expressions (a restricted, documented subset) into closures over plain dicts, once at import.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from referral_hub.fhir.datetimes import parse_range
from referral_hub.fhir.fhirpath_lite import CompiledPath, Node, compile_expression
from referral_hub.fhir.search_params import COLUMN_PARAMS, SearchParam, all_resource_types, params_for

DATETIME_MIN = datetime.min.replace(tzinfo=UTC)
DATETIME_MAX = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TokenValue:
    param: str
    system: str | None
    code: str | None


@dataclass(frozen=True)
class ReferenceValue:
    param: str
    reference: str


@dataclass(frozen=True)
class DateValue:
    param: str
    low: datetime
    high: datetime


@dataclass(frozen=True)
class StringValue:
    param: str
    value: str


@dataclass(frozen=True)
class NumberValue:
    param: str
    value: Decimal


@dataclass(frozen=True)
class QuantityValue:
    param: str
    value: Decimal
    system: str | None
    code: str | None
    unit: str | None


@dataclass(frozen=True)
class UriValue:
    param: str
    value: str


IndexValue = TokenValue | ReferenceValue | DateValue | StringValue | NumberValue | QuantityValue | UriValue

# --- string normalisation ------------------------------------------------------------------------------------------


def normalize_string(value: str) -> str:
    """Search normalization for string params: casefold, strip accents/diacritics (NFKD), collapse whitespace.

    R4 string search is case- and accent-insensitive ("José" matches "jose"); NFKD also folds compatibility forms
    (ligatures, full-width letters).
    """
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


# --- dates ---------------------------------------------------------------------------------------------------------


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The UTC range a FHIR date/dateTime/instant covers at its precision, or None if it does not parse.

    One implementation serves indexing and searching (:func:`referral_hub.fhir.datetimes.parse_range`), so a stored
    value and a search value of the same text always denote the same range.
    """
    return parse_range(text)


# --- converters: (param code, [(value, choice type)]) → index values ---------------------------------------------

_Converter = Callable[[str, list[Node]], list[IndexValue]]

_TOKEN_COMPLEX_SKIP = frozenset({"Quantity", "Range", "Ratio", "Period", "SampledData", "Attachment", "Age"})


def _token_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, type_name in nodes:
        kind = type(value)
        if kind is str:
            if value:
                out.append(TokenValue(param, None, value))
        elif kind is bool:
            out.append(TokenValue(param, None, "true" if value else "false"))
        elif kind is dict:
            if type_name in _TOKEN_COMPLEX_SKIP:
                continue
            if type_name == "Reference":
                literal = value.get("reference")
                if type(literal) is str and literal:
                    out.append(TokenValue(param, None, literal))
                continue
            codings = value.get("coding")
            if codings is not None:  # CodeableConcept
                if type(codings) is list:
                    for coding in codings:
                        if type(coding) is dict:
                            token = _coding_token(param, coding)
                            if token is not None:
                                out.append(token)
                continue
            identifier_value = value.get("value")
            if identifier_value is not None:  # Identifier or ContactPoint
                if type(identifier_value) is str and identifier_value:
                    system = value.get("system")
                    out.append(TokenValue(param, system if type(system) is str else None, identifier_value))
                continue
            token = _coding_token(param, value)  # Coding
            if token is not None:
                out.append(token)
    return out


def _coding_token(param: str, coding: dict[str, Any]) -> TokenValue | None:
    code = coding.get("code")
    if type(code) is not str or not code:
        return None
    system = coding.get("system")
    return TokenValue(param, system if type(system) is str else None, code)


def _reference_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, type_name in nodes:
        kind = type(value)
        if kind is dict:
            if type_name is not None and type_name != "Reference":
                continue  # e.g. Consent.sourceAttachment
            literal = value.get("reference")
            if type(literal) is str and literal and literal[0] != "#":
                out.append(ReferenceValue(param, literal))
        elif kind is str and value and (type_name is None or type_name in ("canonical", "uri", "url")):
            out.append(ReferenceValue(param, value))  # canonical-typed element
    return out


def _date_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, type_name in nodes:
        kind = type(value)
        if kind is str:
            if type_name is None or type_name in ("dateTime", "date", "instant"):
                bounds = date_range(value)
                if bounds is not None:
                    out.append(DateValue(param, bounds[0], bounds[1]))
        elif kind is dict:
            if type_name == "Period" or (type_name is None and ("start" in value or "end" in value)):
                period = _period(value)
                if period is not None:
                    out.append(DateValue(param, period[0], period[1]))
            elif type_name == "Timing" or (type_name is None and "event" in value):
                events = value.get("event")
                if type(events) is list:
                    for event in events:
                        if type(event) is str:
                            bounds = date_range(event)
                            if bounds is not None:
                                out.append(DateValue(param, bounds[0], bounds[1]))
    return out


def _period(value: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start, end = value.get("start"), value.get("end")
    low = date_range(start) if type(start) is str else None
    high = date_range(end) if type(end) is str else None
    if low is None and high is None:
        return None
    return (low[0] if low else DATETIME_MIN), (high[1] if high else DATETIME_MAX)


_NAME_PARTS = ("text", "family", "given", "prefix", "suffix")
_ADDRESS_PARTS = ("text", "line", "city", "district", "state", "postalCode", "country")


def _string_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, type_name in nodes:
        kind = type(value)
        if kind is str:
            if value and (type_name is None or type_name in ("string", "markdown")):
                out.append(StringValue(param, value))
        elif kind is dict and type_name is None:
            parts = _ADDRESS_PARTS if ("line" in value or "city" in value or "postalCode" in value) else _NAME_PARTS
            if parts is _NAME_PARTS and not any(key in value for key in _NAME_PARTS):
                parts = _ADDRESS_PARTS  # an Address with only state/country/district
            for key in parts:
                part = value.get(key)
                if type(part) is str:
                    if part:
                        out.append(StringValue(param, part))
                elif type(part) is list:
                    out.extend(StringValue(param, item) for item in part if type(item) is str and item)
    return out


def _decimal(value: Any) -> Decimal | None:
    if type(value) in (int, float, str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if type(value) is Decimal:
        return value if value.is_finite() else None
    return None


def _number_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, _type_name in nodes:
        number = _decimal(value)
        if number is not None:
            out.append(NumberValue(param, number))
    return out


def _quantity_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    out: list[IndexValue] = []
    for value, type_name in nodes:
        if type(value) is not dict or type_name in ("Range", "SampledData", "Ratio"):
            continue
        number = _decimal(value.get("value"))
        if number is None:
            continue
        system, code, unit = value.get("system"), value.get("code"), value.get("unit")
        out.append(
            QuantityValue(
                param,
                number,
                system if type(system) is str else None,
                code if type(code) is str else None,
                unit if type(unit) is str else None,
            )
        )
    return out


def _uri_values(param: str, nodes: list[Node]) -> list[IndexValue]:
    return [UriValue(param, value) for value, _type_name in nodes if type(value) is str and value]


_CONVERTERS: dict[str, _Converter] = {
    "token": _token_values,
    "reference": _reference_values,
    "date": _date_values,
    "string": _string_values,
    "number": _number_values,
    "quantity": _quantity_values,
    "uri": _uri_values,
}

# Composite parameters are indexed as a token on their value component (see their registry documentation); the
# published expression names the composite's base element, so the indexer evaluates this path instead.
_INDEX_EXPRESSION_OVERRIDES: dict[tuple[str, str], str] = {
    ("Group", "characteristic-value"): "Group.characteristic.value",
    ("Questionnaire", "context-type-value"): "(Questionnaire.useContext.value as CodeableConcept)",
}


@dataclass(frozen=True)
class _Extractor:
    code: str
    paths: tuple[CompiledPath, ...]  # the union branches that apply to this resource type
    convert: _Converter


def _compile(param: SearchParam) -> _Extractor:
    source = _INDEX_EXPRESSION_OVERRIDES.get((param.resource_type, param.code), param.expression)
    branches = compile_expression(source).branches
    paths = tuple(branch for branch in branches if branch.root in (param.resource_type, "Resource"))
    return _Extractor(param.code, paths, _CONVERTERS[param.type])


# Compiled once at import: every registered expression must be in the supported subset (else ImportError early).
_EXTRACTORS: dict[str, tuple[_Extractor, ...]] = {
    resource_type: tuple(
        _compile(param) for code, param in params_for(resource_type).items() if code not in COLUMN_PARAMS
    )
    for resource_type in all_resource_types()
}


def extract_index(resource: dict[str, Any]) -> list[IndexValue]:
    """All index values for every registered parameter of resource['resourceType'] (deduplicated)."""
    if type(resource) is not dict:
        return []
    resource_type = resource.get("resourceType")
    extractors = _EXTRACTORS.get(resource_type) if type(resource_type) is str else None
    if extractors is None:
        return []
    values: list[IndexValue] = []
    for extractor in extractors:
        for path in extractor.paths:
            nodes = path.evaluate(resource)
            if nodes:
                values.extend(extractor.convert(extractor.code, nodes))
    return list(dict.fromkeys(values))


__all__ = [
    "DATETIME_MAX",
    "DATETIME_MIN",
    "DateValue",
    "IndexValue",
    "NumberValue",
    "QuantityValue",
    "ReferenceValue",
    "StringValue",
    "TokenValue",
    "UriValue",
    "date_range",
    "extract_index",
    "normalize_string",
]
