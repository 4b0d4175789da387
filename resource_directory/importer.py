"""One entry point for every directory import, and the validation/write core all formats share.

Every format reader (HSDS tabular, HSDS JSON, Ohana CSV, declarative column mapping) turns its input into flat
``Record`` objects -- one per HSDS object, with HSDS field names -- and hands them to ``load_records``, which:

1. coerces and validates every field (required, UUID, enum, number, date, coordinates, schedule syntax),
2. refuses duplicate ids and rows that reference refused or missing owners (cascading, so nothing is
   half-written: a service whose organization is refused is refused too),
3. in strict mode (the default) writes nothing if any row was refused; in partial mode writes the good rows,
4. upserts by id in one transaction and writes HSDS ``metadata`` change-log rows for every changed field.

Why strict is the default: a directory import replaces what referral staff rely on. A half-applied feed
(organizations updated, half their services missing) is worse than yesterday's consistent data, and the
report tells the steward exactly what to fix. ``strict=False`` exists for messy one-off loads where the
steward accepts losing the refused rows (each is still reported).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Date, DateTime, Float, Integer, String, insert
from sqlalchemy.orm import Session

from resource_directory.import_write import (
    SearchTouch,
    WritePipeline,
    bring_search_up_to_date,
    copy_rows,
    copy_text,
    existing_ids,
    existing_rows,
    has_rows,
    insert_rows,
    suspend_row_triggers,
    update_rows,
)
from resource_directory.models import (
    ADDRESS_TYPES,
    HSDS_MODELS,
    HUB_ONLY_COLUMNS,
    LOCATION_TYPES,
    SERVICE_STATUSES,
    MetadataEntry,
)
from resource_directory.report import ImportReport, RowIssue

FORMATS = ("tabular", "json", "ohana", "mapping")


@dataclass
class Record:
    """One HSDS object as read from a source, before validation. ``values`` use HSDS field names."""

    table: str
    values: dict[str, Any]
    file: str
    row: int | None = None
    path: str | None = None
    issues: list[str] = field(default_factory=list)  # reader-detected problems ("field: reason")

    @property
    def id(self) -> str | None:
        v = self.values.get("id")
        return None if v is None else str(v)

    def issue(self, field_name: str | None, reason: str) -> RowIssue:
        return RowIssue(self.file, self.row, self.table, self.id, field_name, reason, self.path)


@dataclass
class ReadResult:
    """What a format reader produced: records plus file-level problems (refusals) and notes (warnings)."""

    records: list[Record] = field(default_factory=list)
    refused: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------------
# Field rules (HSDS 3.0 schema.csv / datapackage.json; market-and-hsds.md §B.2)
# --------------------------------------------------------------------------------------------------------

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Exactly a UUID (36 characters, nothing after): a cell that matches passes every rule of a UUID column.
UUID_CELL_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$")
BYDAY_RE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
INT_LIST_RE = re.compile(r"^[+-]?\d{1,3}(,[+-]?\d{1,3})*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")

ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("service", "status"): SERVICE_STATUSES,
    ("location", "location_type"): LOCATION_TYPES,
    ("address", "address_type"): ADDRESS_TYPES,
    ("schedule", "freq"): ("WEEKLY", "MONTHLY"),
    ("schedule", "wkst"): ("MO", "TU", "WE", "TH", "FR", "SA", "SU"),
}
# Fields whose datapackage format is "email" / "uri": frictionless rejects malformed values on export, so
# they are refused on import rather than silently producing an invalid feed.
EMAIL_FIELDS = {
    ("organization", "email"),
    ("service", "email"),
    ("service", "assurer_email"),
    ("contact", "email"),
}
URI_FIELDS = {
    ("organization", "website"),
    ("organization", "uri"),
    ("service", "url"),
    ("location", "url"),
    ("schedule", "schedule_link"),
    ("required_document", "uri"),
    ("accessibility", "url"),
    ("taxonomy", "uri"),
    ("taxonomy_term", "term_uri"),
    ("url", "url"),
}

# (field, target object, required). Required references must resolve (in this import or the database);
# optional ones may point at objects published elsewhere (reported as a warning). Either kind is refused
# when its target is refused in the same import.
REFERENCES: dict[str, list[tuple[str, str, bool]]] = {
    "organization": [("parent_organization_id", "organization", False)],
    "organization_identifier": [("organization_id", "organization", True)],
    "program": [("organization_id", "organization", True)],
    "service": [("organization_id", "organization", True), ("program_id", "program", False)],
    "location": [("organization_id", "organization", False)],
    "service_at_location": [("service_id", "service", True), ("location_id", "location", True)],
    "address": [("location_id", "location", False)],
    "contact": [
        ("organization_id", "organization", False),
        ("service_id", "service", False),
        ("service_at_location_id", "service_at_location", False),
        ("location_id", "location", False),
    ],
    "phone": [
        ("location_id", "location", False),
        ("service_id", "service", False),
        ("organization_id", "organization", False),
        ("contact_id", "contact", False),
        ("service_at_location_id", "service_at_location", False),
    ],
    "schedule": [
        ("service_id", "service", False),
        ("location_id", "location", False),
        ("service_at_location_id", "service_at_location", False),
    ],
    "funding": [("organization_id", "organization", False), ("service_id", "service", False)],
    "service_area": [("service_id", "service", False), ("service_at_location_id", "service_at_location", False)],
    "required_document": [("service_id", "service", False)],
    "language": [("service_id", "service", False), ("location_id", "location", False), ("phone_id", "phone", False)],
    "accessibility": [("location_id", "location", False)],
    "cost_option": [("service_id", "service", True)],
    "taxonomy_term": [("parent_id", "taxonomy_term", False), ("taxonomy_id", "taxonomy", False)],
    "attribute": [("taxonomy_term_id", "taxonomy_term", True)],
    "service_capacity": [("service_id", "service", True), ("unit_id", "unit", True)],
    "url": [("organization_id", "organization", False), ("service_id", "service", False)],
}
UUID_FIELDS: dict[str, set[str]] = {t: {"id"} | {f for f, _, _ in refs} for t, refs in REFERENCES.items()}
for _t in HSDS_MODELS:
    UUID_FIELDS.setdefault(_t, {"id"})
UUID_FIELDS["attribute"].add("link_id")
UUID_FIELDS["metadata"].add("resource_id")

# Hub columns a reader may set (coordinates provenance); everything else hub-only is never imported.
IMPORTABLE_HUB_COLUMNS = {"location": {"geocode_source", "geocode_precision"}}


def hsds_columns(table: str) -> list[str]:
    """The HSDS field names of an object, in model order (hub-only columns excluded)."""
    hub = HUB_ONLY_COLUMNS.get(table, frozenset())
    return [c.name for c in HSDS_MODELS[table].__table__.columns if c.name not in hub]


_TIMEZONES: set[str] | None = None


def _is_timezone(value: str) -> bool:
    global _TIMEZONES
    try:
        return -14 <= float(value) <= 14
    except ValueError:
        pass
    if _TIMEZONES is None:
        _TIMEZONES = set(available_timezones())
    if _TIMEZONES:
        return value in _TIMEZONES
    return bool(re.match(r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)+$|^UTC$", value))


def _as_text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def coerce(table: str, name: str, column: Any, raw: Any) -> Any:
    """Convert one raw value to the column's Python type, or raise ValueError with a readable reason."""
    ctype = column.type
    if isinstance(ctype, Integer):
        if isinstance(raw, bool):
            raise ValueError(f"expected a whole number, got {raw!r}")
        if isinstance(raw, int):
            return raw
        try:
            num = float(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if not num.is_integer():
            raise ValueError(f"expected a whole number, got {raw!r}")
        return int(num)
    if isinstance(ctype, Float):
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        try:
            num = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not math.isfinite(num):
            raise ValueError(f"expected a finite number, got {raw!r}")
        return num
    if isinstance(ctype, DateTime):
        text = str(raw).strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 date-time, got {raw!r}") from None
        if value.tzinfo is not None:  # stored as naive UTC (see models.py)
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(ctype, Date):
        text = str(raw).strip()
        if not DATE_RE.match(text):
            raise ValueError(f"expected a date YYYY-MM-DD, got {raw!r}")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a real calendar date: {raw!r}") from None
    text = _as_text(raw)
    if "\x00" in text:  # PostgreSQL text cannot hold NUL; refuse everywhere so both databases agree
        raise ValueError("contains a NUL character")
    if isinstance(ctype, String) and ctype.length and len(text) > ctype.length:
        raise ValueError(f"longer than {ctype.length} characters: {text[:60]!r}")
    return text


def _check_value(table: str, name: str, value: Any) -> str | None:
    """Rules beyond the column type. Returns a reason when the value is unacceptable."""
    if name in UUID_FIELDS.get(table, ()) and not UUID_RE.match(value):
        return f"not a UUID: {value!r}"
    allowed = ENUMS.get((table, name))
    if allowed and value not in allowed:
        return f"{value!r} is not one of {', '.join(allowed)}"
    if (table, name) in EMAIL_FIELDS and not EMAIL_RE.match(value):
        return f"not an e-mail address: {value!r}"
    if (table, name) in URI_FIELDS and not URI_RE.match(value):
        return f"not an absolute URI: {value!r}"
    if table == "schedule":
        if name in ("opens_at", "closes_at") and not TIME_RE.match(value):
            return f"expected a time HH:MM[:SS][offset], got {value!r}"
        if name == "byday" and not all(BYDAY_RE.match(p.strip()) for p in value.split(",")):
            return f"expected RRULE BYDAY values like 'MO,TU' or '1FR', got {value!r}"
        if name in ("bymonthday", "byyearday", "byweekno") and not INT_LIST_RE.match(value.replace(" ", "")):
            return f"expected a comma-separated list of numbers, got {value!r}"
        if name == "timezone" and not _is_timezone(value):
            return f"expected a UTC offset number or an IANA time zone name, got {value!r}"
        if name in ("count", "interval") and value < 1:
            return f"must be at least 1, got {value!r}"
    if table == "service" and name in ("minimum_age", "maximum_age") and not 0 <= value <= 150:
        return f"age out of range 0..150: {value!r}"
    if table == "cost_option" and name == "currency" and not re.match(r"^[A-Za-z]{3}$", value):
        return f"expected an ISO 4217 currency code, got {value!r}"
    return None


def canonical_time(value: str) -> str:
    """``HH:MM`` -> ``HH:MM:SS`` (offset kept): the tabular descriptor types opens_at/closes_at as frictionless
    ``time``, which needs seconds, and one spelling per time keeps re-imports from logging false changes."""
    match = re.match(r"^(\d{2}:\d{2})(Z|[+-].*)?$", value)
    return f"{match.group(1)}:00{match.group(2) or ''}" if match else value


@dataclass
class _Checked:
    record: Record
    values: dict[str, Any]
    problems: list[RowIssue]
    key: tuple[str, str | None]  # (object, id): read once, the checks below use it for every row several times


# Fields ``_check_value`` has a rule for, per object, apart from UUIDs (checked by their converters): the
# others need only their type conversion.
_CHECKED_FIELDS: dict[str, frozenset[str]] = {
    table: frozenset(
        {f for t, f in ENUMS if t == table}
        | {f for t, f in EMAIL_FIELDS | URI_FIELDS if t == table}
        | (
            {"opens_at", "closes_at", "byday", "bymonthday", "byyearday", "byweekno", "timezone", "count", "interval"}
            if table == "schedule"
            else set()
        )
        | ({"minimum_age", "maximum_age"} if table == "service" else set())
        | ({"currency"} if table == "cost_option" else set())
    )
    for table in HSDS_MODELS
}


def _text_converter(max_length: int | None) -> Any:
    """``coerce`` for a text column, without the per-call type dispatch (most cells of a feed are text)."""

    def convert(raw: Any) -> str:
        text = raw if type(raw) is str else _as_text(raw)
        if "\x00" in text:
            raise ValueError("contains a NUL character")
        if max_length and len(text) > max_length:
            raise ValueError(f"longer than {max_length} characters: {text[:60]!r}")
        return text

    return convert


def _uuid_converter(as_text: Any) -> Any:
    """Text conversion plus the UUID rule of ``_check_value`` in one call (ids and references: a third of
    all cells)."""

    def convert(raw: Any) -> str:
        text = as_text(raw)
        if not UUID_RE.match(text):
            raise ValueError(f"not a UUID: {text!r}")
        return text

    return convert


@dataclass(frozen=True)
class _TablePlan:
    """What validating one object's rows needs, worked out once per object instead of once per row."""

    columns: dict[str, Any]
    converters: dict[str, Any]  # importable field -> raw value -> Python value (raises ValueError)
    checked: frozenset[str]
    required: tuple[str, ...]
    ranges: tuple[tuple[str, str], ...]  # (start, end) field pairs of this object that must be in order
    uuids: frozenset[str]  # fields whose converter is the UUID one


_PLANS: dict[str, _TablePlan] = {}


def _plan(table: str) -> _TablePlan:
    plan = _PLANS.get(table)
    if plan is None:
        columns = {c.name: c for c in HSDS_MODELS[table].__table__.columns}
        allowed = set(hsds_columns(table)) | IMPORTABLE_HUB_COLUMNS.get(table, set())
        converters: dict[str, Any] = {}
        for name in allowed:
            column = columns[name]
            if isinstance(column.type, Integer | Float | DateTime | Date):
                converters[name] = partial(coerce, table, name, column)
            elif name in UUID_FIELDS.get(table, ()):
                converters[name] = _uuid_converter(_text_converter(getattr(column.type, "length", None)))
            else:
                converters[name] = _text_converter(getattr(column.type, "length", None))
        required = tuple(
            name
            for name, column in columns.items()
            if name in allowed and not column.nullable and column.server_default is None
        )
        ranges = tuple((a, b) for a, b in (("valid_from", "valid_to"), ("dtstart", "until")) if a in columns)
        uuids = frozenset(
            name
            for name in allowed
            if name in UUID_FIELDS.get(table, ())
            and not isinstance(columns[name].type, Integer | Float | DateTime | Date)
        )
        plan = _PLANS[table] = _TablePlan(columns, converters, _CHECKED_FIELDS[table], required, ranges, uuids)
    return plan


def _convert(table: str, name: str, convert: Any, checked: frozenset[str], raw: Any) -> Any:
    """One non-empty cell -> its Python value, or ValueError with the reason (type, then the field's rules)."""
    value = convert(raw)
    if name in checked and value is not None:
        reason = _check_value(table, name, value)
        if reason:
            raise ValueError(reason)
        if table == "schedule" and name in ("opens_at", "closes_at"):
            value = canonical_time(value)
    return value


def _validate(rec: Record, *, check_coordinates: bool) -> _Checked:
    problems = [rec.issue(*p.split(": ", 1)) if ": " in p else rec.issue(None, p) for p in rec.issues]
    plan = _PLANS.get(rec.table)
    if plan is None:
        if rec.table not in HSDS_MODELS:
            return _Checked(
                rec, {}, [*problems, rec.issue(None, f"unknown HSDS object {rec.table!r}")], (rec.table, rec.id)
            )
        plan = _plan(rec.table)
    converters, checked, table = plan.converters, plan.checked, rec.table
    values: dict[str, Any] = {}
    for name, raw in rec.values.items():
        convert = converters.get(name)
        if convert is None:
            continue  # not importable; unknown columns are reported once per file by the readers
        if raw == "" or raw is None:
            values[name] = None
            continue
        try:
            values[name] = _convert(table, name, convert, checked, raw)
        except ValueError as exc:
            problems.append(rec.issue(name, str(exc)))
    for name in plan.required:
        if values.get(name) is None and not any(p.field == name for p in problems):
            problems.append(rec.issue(name, "required field is missing"))
    _row_rules(rec, values, problems, plan, check_coordinates)
    return _Checked(rec, values, problems, (rec.table, rec.id))


def _row_rules(
    rec: Record, values: dict[str, Any], problems: list[RowIssue], plan: _TablePlan, check_coordinates: bool
) -> None:
    """The rules that tie two fields of a row together (appended to ``problems``)."""
    if rec.table == "location":
        lat, lon = values.get("latitude"), values.get("longitude")
        if (lat is None) != (lon is None):
            problems.append(rec.issue("latitude" if lat is None else "longitude", "latitude and longitude go together"))
        elif lat is not None and check_coordinates and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(rec.issue("latitude", f"coordinates out of range (WGS84): {lat}, {lon}"))
    if rec.table == "service":
        lo, hi = values.get("minimum_age"), values.get("maximum_age")
        if lo is not None and hi is not None and hi < lo:
            problems.append(rec.issue("maximum_age", f"maximum_age {hi:g} is below minimum_age {lo:g}"))
    if rec.table == "schedule":
        opens, closes = values.get("opens_at"), values.get("closes_at")
        if (opens is None) != (closes is None) and not any(p.field in ("opens_at", "closes_at") for p in problems):
            problems.append(
                rec.issue("closes_at" if closes is None else "opens_at", "opens_at and closes_at go together")
            )
    for a, b in plan.ranges:
        if values.get(a) is not None and values.get(b) is not None and values[b] < values[a]:
            problems.append(rec.issue(b, f"{b} {values[b]} is before {a} {values[a]}"))


_ROW_RULE_TABLES = frozenset({"location", "service", "schedule"})


def _validate_batch(table: str, records: list[Record], *, check_coordinates: bool) -> list[_Checked]:
    """``_validate`` for every row of one object, worked out column by column.

    Why: a feed repeats the same few values in most columns (statuses, dates, enum values, empty cells), and
    ids are a third of all cells. Each column's distinct values are converted and checked once (the same
    ``_convert`` as a single row), UUID columns are matched by ``map`` in C, and a row's dict is copied, not
    rebuilt field by field. Any row that a column or row rule refuses -- or that the reader flagged -- is
    validated again by ``_validate`` alone, so a refused row's report is exactly the single-row one.
    """
    plan = _PLANS.get(table) or (_plan(table) if table in HSDS_MODELS else None)
    if plan is None or not records:
        return [_validate(rec, check_coordinates=check_coordinates) for rec in records]
    converters, checked = plan.converters, plan.checked
    rows = [dict(rec.values) for rec in records]
    slow = {i for i, rec in enumerate(records) if rec.issues}
    names = set().union(*rows)
    for extra in names - converters.keys():  # not importable: dropped as ``_validate`` skips them
        for row in rows:
            row.pop(extra, None)
    for name in names & converters.keys():
        raws = [row.get(name) for row in rows]
        try:
            distinct = set(raws)
        except TypeError:  # unhashable values (JSON lists or objects): row by row
            distinct = None
        distinct_types = None if distinct is None else set(map(type, distinct))
        if distinct_types is None or not distinct_types <= {str, type(None)}:
            # Numbers and booleans from JSON (1, 1.0 and True are one set member): each value on its own.
            for i, raw in enumerate(raws):
                if raw is None or i in slow:
                    continue
                if raw == "":
                    rows[i][name] = None
                    continue
                try:
                    rows[i][name] = _convert(table, name, converters[name], checked, raw)
                except ValueError:
                    slow.add(i)
            continue
        distinct.discard(None)
        if "" in distinct:
            distinct.discard("")
            for i, raw in enumerate(raws):
                if raw == "":
                    rows[i][name] = None
        convert = converters[name]
        if name in plan.uuids and name not in checked and all(map(UUID_CELL_RE.fullmatch, distinct)):
            continue  # a UUID is its own (text) value
        converted: dict[str, Any] = {}
        refused: set[str] = set()
        for raw in distinct:
            try:
                converted[raw] = _convert(table, name, convert, checked, raw)
            except ValueError:
                refused.add(raw)
        if refused:
            slow.update(i for i, raw in enumerate(raws) if raw in refused)
        if all(value is raw for raw, value in converted.items()):
            continue  # text: the values are the raw cells
        for i, raw in enumerate(raws):
            if raw is not None and raw in converted:
                rows[i][name] = converted[raw]
    for name in plan.required:
        slow.update(i for i, row in enumerate(rows) if row.get(name) is None)
    if table in _ROW_RULE_TABLES or plan.ranges:
        for i, row in enumerate(rows):
            if i in slow:
                continue  # may hold unconverted cells; validated again below anyway
            problems: list[RowIssue] = []
            _row_rules(records[i], row, problems, plan, check_coordinates)
            if problems:
                slow.add(i)
    return [
        _validate(rec, check_coordinates=check_coordinates) if i in slow else _Checked(rec, row, [], (table, row["id"]))
        for i, (rec, row) in enumerate(zip(records, rows, strict=True))
    ]


# --------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------


def _references_resolve(lookup: Callable[[str, set[str]], set[str]], batches: dict[str, list[_Checked]]) -> bool:
    """Whether every reference of every row names a row of this import or of the database, worked out per
    column with one lookup per target object. For a feed with no refused row that is exactly when
    ``_resolve_references`` accepts every row and warns of nothing, so the row-by-row pass can be skipped."""
    present = {table: {c.key[1] for c in rows} for table, rows in batches.items()}
    wanted: dict[str, set[str]] = defaultdict(set)
    for table, rows in batches.items():
        for fld, target, _required in REFERENCES.get(table, ()):
            wanted[target].update({c.values.get(fld) for c in rows})
        if table == "attribute":
            for c in rows:
                entity, link = c.values.get("link_entity"), c.values.get("link_id")
                if entity in HSDS_MODELS and link is not None:
                    wanted[entity].add(link)
    for target, ids in wanted.items():
        ids.discard(None)
        missing = ids - present.get(target, set())
        if missing and len(lookup(target, missing)) != len(missing):
            return False
    return True


def _resolve_references(
    lookup: Callable[[str, set[str]], set[str]], checked: list[_Checked], report: ImportReport
) -> list[_Checked]:
    """Refuse rows whose references cannot stand; cascade until stable. Returns the accepted rows.

    ``lookup(table, ids)`` answers which of ``ids`` the database already holds."""
    accepted = [c for c in checked if not c.problems]
    refused_keys = {c.key for c in checked if c.problems}
    batch_keys = {c.key for c in accepted}

    # Each accepted row's non-empty references, worked out once: (field, target object, required, id).
    references: dict[int, list[tuple[str, str, bool, str]]] = {}
    wanted: dict[str, set[str]] = defaultdict(set)
    for c in accepted:
        values = c.values
        found = [(f, t, r, values[f]) for f, t, r in REFERENCES.get(c.record.table, ()) if values.get(f) is not None]
        if c.record.table == "attribute" and values.get("link_entity") in HSDS_MODELS:
            if values.get("link_id") is not None:
                found.append(("link_id", values["link_entity"], True, values["link_id"]))
        references[id(c)] = found
        for _fld, target, _req, v in found:
            if (target, v) not in batch_keys:
                wanted[target].add(v)
    in_db = {(t, i) for t, ids in wanted.items() for i in lookup(t, ids)}

    warned: set[tuple[str, str | None, str]] = set()
    changed = True
    while changed:
        changed = False
        still: list[_Checked] = []
        for c in accepted:
            for fld, target, required, v in references[id(c)]:
                key = (target, v)
                if key in batch_keys:
                    continue
                if key in refused_keys:
                    c.problems.append(c.record.issue(fld, f"refers to {target} {v}, which was refused"))
                elif key not in in_db:
                    if required:
                        c.problems.append(c.record.issue(fld, f"no {target} with id {v}"))
                    elif (*c.key, fld) not in warned:
                        warned.add((*c.key, fld))
                        report.warnings.append(
                            c.record.issue(fld, f"{target} {v} is not in this import or the directory (kept as is)")
                        )
            if c.problems:
                refused_keys.add(c.key)
                batch_keys.discard(c.key)
                changed = True
            else:
                still.append(c)
        accepted = still
    return accepted


def render_value(value: Any) -> str:
    """Text form used in CSV exports and metadata rows (numbers without a spurious '.0', ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if value.microsecond:
            frac = f"{value.microsecond:06d}"
            text += "." + (frac[:3] if frac.endswith("000") else frac)
        return text + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _location_hub_values(values: dict[str, Any], existing: Any | None, now: dt.datetime) -> dict[str, Any]:
    """Coordinates provenance. Feed coordinates are ``geocode_source='data'``; coordinates found by the hub's
    geocoder survive a re-import of a feed that has none (they are not the feed's to clear)."""
    lat, lon = values.get("latitude"), values.get("longitude")
    if lat is None:
        if existing is not None and existing["geocode_source"] not in (None, "data"):
            return {
                "latitude": existing["latitude"],
                "longitude": existing["longitude"],
                "geocode_source": existing["geocode_source"],
                "geocode_precision": existing["geocode_precision"],
                "geocoded_at": existing["geocoded_at"],
            }
        return {"geocode_source": None, "geocode_precision": None, "geocoded_at": None}
    source = values.get("geocode_source") or "data"
    same = (
        existing is not None
        and existing["latitude"] == lat
        and existing["longitude"] == lon
        and existing["geocode_source"] == source
    )
    return {
        "geocode_source": source,
        "geocode_precision": values.get("geocode_precision"),
        "geocoded_at": existing["geocoded_at"] if same else now,
    }


# Write order: owners before the rows that need them (the database's foreign keys), and every object the
# search extras read (up to ``attribute``) before the others, so the search refresh runs while the remaining
# objects are still being validated and written.
WRITE_ORDER = (
    "taxonomy",
    "taxonomy_term",
    "organization",
    "organization_identifier",
    "program",
    "service",
    "location",
    "service_at_location",
    "language",
    "cost_option",
    "attribute",
    "address",
    "contact",
    "phone",
    "schedule",
    "funding",
    "service_area",
    "required_document",
    "accessibility",
    "metadata",
    "meta_table_description",
    "unit",
    "service_capacity",
    "url",
)
LAST_SEARCH_INPUT = "attribute"
if set(WRITE_ORDER) != set(HSDS_MODELS):  # pragma: no cover - a model added without a place in the order
    raise RuntimeError("WRITE_ORDER must list every HSDS object")


class _TableWriter:
    """Upserts accepted rows object by object and logs every changed field (runs on the write pipeline).

    Existing rows are read as plain tuples in large chunks, new rows go in with one bulk statement per object
    (``import_write``): the per-row cost is the Python comparison, not a round trip.
    """

    def __init__(self, connection: Any, report: ImportReport, updated_by: str) -> None:
        self.connection = connection
        self.report = report
        self.updated_by = updated_by
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        # Which services the search extras must refresh: only SQLite's suspended triggers need the list
        # (PostgreSQL's statement triggers work it out themselves).
        self.touch = SearchTouch() if connection.dialect.name == "sqlite" else None
        self.suspended: list[str] | None = None  # SQL of the SQLite triggers to put back
        self.search_done = False
        self.metadata_rows: list[dict[str, Any]] = []
        self.existing: dict[str, dict[str, Any]] = {}

    def tables_with_rows(self, tables: list[str]) -> list[str]:
        """The objects whose tables hold rows: an empty table (a first import) has none to update."""
        return [table for table in tables if has_rows(self.connection, _sa_table(table))]

    def load_existing(self, ids_by_table: dict[str, list[str]]) -> None:
        """Fetch the rows the import may update, for every object at once (before anything is written:
        each object's ids are looked up in its own table, which the import's earlier writes never touch)."""
        for table, ids in ids_by_table.items():
            self.existing[table] = existing_rows(self.connection, _sa_table(table), self._compared(table), ids)

    @staticmethod
    def _compared(table: str) -> list[str]:
        cols = hsds_columns(table)
        return [*cols, *HUB_ONLY_COLUMNS.get(table, ())] if table == "location" else cols

    def plan(self, table: str, rows: list[_Checked]) -> Callable[[], None]:
        """Compare ``rows`` with what exists (importer's thread) and return the database work (pipeline)."""
        report, touch, now = self.report, self.touch, self.now
        cols = hsds_columns(table)
        existing = self.existing.get(table, {})
        insert_columns: list[str] = []
        inserts: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        if not existing and table != "location":
            # A first import of this object: every row is new, straight to tuples.
            inserts = [tuple(map(c.values.get, cols)) for c in rows]
            insert_columns = cols
            if touch is not None:
                touch.note_all(table, [c.values for c in rows])
            rows = []
        for c in rows:
            values = c.values
            old = existing.get(c.key[1])
            if old is None and table != "location":
                # The common case of a first import: straight to a tuple, no comparison dict.
                insert_columns = cols
                inserts.append(tuple(map(values.get, cols)))
                if touch is not None:
                    touch.note(table, values)
                continue
            new = {col: values.get(col) for col in cols}
            if table == "location":
                new.update(_location_hub_values(values, old, now))
            if old is None:
                if not insert_columns:
                    insert_columns = list(new)
                inserts.append(tuple([new[col] for col in insert_columns]))
                if touch is not None:
                    touch.note(table, new)
                continue
            diffs = [col for col in new if old[col] != new[col]]
            if not diffs:
                report.unchanged[table] += 1
                continue
            updates.append(new)
            if touch is not None:
                touch.note(table, new)
                touch.note(table, old)
            self._log_changes(table, c.key[1], old, new, diffs)
        if inserts:
            report.created[table] += len(inserts)
        if updates:
            report.updated[table] += len(updates)
        payload = copy_text(inserts) if inserts and self.connection.dialect.name == "postgresql" else None
        return partial(self._apply, table, insert_columns, inserts, payload, updates)

    def _apply(
        self,
        table: str,
        insert_columns: list[str],
        inserts: list[tuple[Any, ...]],
        payload: str | None,
        updates: list[dict[str, Any]],
    ) -> None:
        if self.suspended is None:
            self.suspended = suspend_row_triggers(self.connection)
        sa_table = _sa_table(table)
        if payload is not None:
            copy_rows(self.connection, sa_table, insert_columns, payload)
        elif inserts:
            insert_rows(self.connection, sa_table, insert_columns, inserts)
        if updates:
            update_rows(self.connection, sa_table, updates)
        if table == LAST_SEARCH_INPUT:
            self.search_inputs_written()

    def _log_changes(self, table: str, record_id: str | None, old: Any, new: dict[str, Any], diffs: list[str]) -> None:
        for col in diffs:
            if col in ("geocoded_at", "geocode_precision", "geocode_source"):
                continue  # provenance bookkeeping, not a change of the published record
            self.metadata_rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "resource_id": record_id,
                    "resource_type": table,
                    "last_action_date": self.now.date(),
                    "last_action_type": "update",
                    "field_name": col,
                    "previous_value": render_value(old[col]),
                    "replacement_value": render_value(new[col]),
                    "updated_by": self.updated_by,
                }
            )

    def search_inputs_written(self) -> None:
        """Every object the search extras read is written: refresh them now (once)."""
        if not self.search_done and self.suspended is not None:
            self.search_done = True
            bring_search_up_to_date(self.connection, self.touch, self.suspended)

    def finish(self) -> None:
        self.search_inputs_written()
        if self.metadata_rows:
            self.connection.execute(insert(MetadataEntry.__table__), self.metadata_rows)
            self.report.metadata_rows = len(self.metadata_rows)


def _sa_table(table: str) -> Any:
    return HSDS_MODELS[table].__table__  # type: ignore[attr-defined]


def _threaded(connection: Any) -> bool:
    """Whether the write pipeline gets a worker thread: on PostgreSQL, where the worker mostly waits for the
    server (COPY of preformatted text, set-wise refreshes) and so overlaps with validation. SQLite runs in this
    process: its inserts bind every row in Python, which would only fight the validation for the GIL."""
    return connection.dialect.name == "postgresql"


def load_records(
    session: Session,
    records: Sequence[Record],
    report: ImportReport,
    *,
    updated_by: str,
    check_coordinates: bool = True,
) -> ImportReport:
    """Validate, resolve and (unless strict mode found refusals) upsert ``records``. Does not commit.

    Strict mode streams: as soon as every row of an object has validated (objects in :data:`WRITE_ORDER`,
    nothing refused so far), its rows go to the write pipeline, which writes them on a worker thread inside a
    SAVEPOINT while the next object is validated. References and duplicates are then checked over the whole
    feed exactly as before; any refusal rolls the SAVEPOINT back, so nothing is half-written. Partial mode
    must know the refused rows before writing, so it validates and resolves first, then writes.
    """
    started = time.perf_counter()
    # The import reads and writes on the session's connection directly: objects the caller added through the
    # ORM (e.g. a taxonomy loaded just before) must be in the database first, as autoflush used to ensure.
    session.flush()
    connection = session.connection()
    pipeline = WritePipeline(connection, threaded=_threaded(connection))
    sink = _TableWriter(connection, report, updated_by)
    try:
        by_table: dict[str, list[int]] = defaultdict(list)
        for index, rec in enumerate(records):
            by_table[rec.table].append(index)
        checked: list[_Checked] = [None] * len(records)  # type: ignore[list-item]  # filled below, in input order
        # Rows the import may update: only tables that hold rows have any (a first import: none, no id lists).
        filled = pipeline.call(partial(sink.tables_with_rows, [t for t in by_table if t in HSDS_MODELS]))
        ids_by_table = {t: [i for i in {records[n].id for n in by_table[t]} if i is not None] for t in filled}
        pipeline.call(partial(sink.load_existing, ids_by_table))
        streaming = report.strict
        batches: dict[str, list[_Checked]] = {}
        clean = True  # no row refused and no duplicate id so far
        for table in [*WRITE_ORDER, *(t for t in by_table if t not in HSDS_MODELS)]:
            indexes = by_table.get(table, [])
            batch = _validate_batch(table, [records[i] for i in indexes], check_coordinates=check_coordinates)
            for index, c in zip(indexes, batch, strict=True):
                checked[index] = c
            if not batch:
                continue
            batches[table] = batch
            if clean and (
                table not in HSDS_MODELS
                or len({c.key[1] for c in batch}) != len(batch)
                or any(c.problems for c in batch)
            ):
                clean = False
            if not streaming:
                continue
            if not clean:
                streaming = False  # refusals ahead: stop writing (the report needs every row checked anyway)
                pipeline.rollback()
                continue
            pipeline.submit(sink.plan(table, batch))
        validated = time.perf_counter()
        report.timings["validate"] = validated - started

        def lookup(table: str, ids: set[str]) -> set[str]:
            return pipeline.call(partial(existing_ids, connection, HSDS_MODELS[table].__table__, ids))  # type: ignore[attr-defined]

        if clean and _references_resolve(lookup, batches):
            accepted = checked  # what the row-by-row resolution below finds for such a feed: every row, no warning
        else:
            _refuse_duplicates(checked)
            accepted = _resolve_references(lookup, checked, report)
            for c in checked:
                report.refused.extend(c.problems)
        resolved = time.perf_counter()
        report.timings["references"] = resolved - validated
        if report.refused and report.strict:
            pipeline.close()  # undo the speculative writes
            report.created.clear()
            report.updated.clear()
            report.unchanged.clear()
            report.metadata_rows = 0
            report.written = False
            return report
        if not streaming:  # partial mode: now that the refusals are known, write the rest
            by_accepted: dict[str, list[_Checked]] = defaultdict(list)
            for c in accepted:
                by_accepted[c.record.table].append(c)
            for table in WRITE_ORDER:
                if by_accepted.get(table):
                    pipeline.submit(sink.plan(table, by_accepted[table]))
        pipeline.submit(sink.finish)
        pipeline.finish()
        report.timings["write_wait"] = time.perf_counter() - resolved
        report.timings["write"] = pipeline.busy_seconds
    except BaseException:
        pipeline.close()
        raise
    # Rows written behind the ORM's back: nothing the session holds may shadow them.
    session.expire_all()
    report.written = True
    return report


def _refuse_duplicates(checked: list[_Checked]) -> None:
    """Duplicate ids within one import: every occurrence is refused -- we cannot know which one is right."""
    first: dict[tuple[str, str], _Checked] = {}
    duplicated: dict[tuple[str, str], list[_Checked]] = {}
    for c in checked:
        key = c.key
        if key[1] is not None and key[0] in HSDS_MODELS:
            seen = first.setdefault(key, c)
            if seen is not c:
                duplicated.setdefault(key, [seen]).append(c)
    for dups in duplicated.values():
        for c in dups:
            others = ", ".join(_where(o.record) for o in dups if o is not c)
            c.problems.append(c.record.issue("id", f"duplicate id (also at {others})"))


def _where(rec: Record) -> str:
    if rec.row is not None:
        return f"{rec.file}:{rec.row}"
    return f"{rec.file} {rec.path or ''}".strip()


# --------------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """Guess the input format from the files present (``--format`` overrides)."""
    if path.is_file():
        if path.suffix == ".json":
            return "json"
        if path.suffix in (".yaml", ".yml"):
            return "mapping"
        raise ValueError(f"cannot tell the format of {path}; pass format=")
    names = {p.name for p in path.iterdir()}
    if "datapackage.json" in names:
        return "tabular"
    if "regular_schedules.csv" in names or "mail_addresses.csv" in names:
        return "ohana"
    if "services.csv" in names or "organizations.csv" in names:
        return "tabular"
    if any(n.endswith(".json") for n in names):
        return "json"
    raise ValueError(f"cannot tell the format of {path}; pass format=")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for an import (and resume it after, if it was on).

    Why: an import allocates a few objects per row (records, value dicts, checked rows, tuples) and keeps
    them all to the end, so every full collection walks all of them again -- on a 100k feed, collections
    that free nothing were a third of the importer's CPU. None of those objects form reference cycles, so
    pausing frees no less memory; what other threads make is collected once the import is done.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_path(
    session: Session,
    path: str | Path,
    *,
    format: str | None = None,
    mapping: str | Path | None = None,
    strict: bool = True,
    updated_by: str | None = None,
    check_coordinates: bool = True,
    commit: bool = True,
) -> ImportReport:
    """Import a directory feed into the directory in ONE transaction and report on every row.

    ``format``: "tabular" (HSDS Tabular Data Package), "json" (HSDS JSON objects), "ohana" (Ohana API CSV),
    "mapping" (any CSV through a column-mapping YAML, given as ``mapping`` or as ``path``); guessed when
    omitted. ``strict`` (default True): any refused row means nothing is written. ``check_coordinates``:
    refuse latitude/longitude outside WGS84 ranges (disable only for synthetic fixtures).
    ``commit``: commit on success and roll back on error; with False the caller owns the transaction.
    """
    started = time.perf_counter()
    path = Path(path)
    if mapping is not None:
        format = "mapping"
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    report = ImportReport(source=str(path), format=fmt, strict=strict)
    with _collector_paused():
        _import(session, report, fmt, path, mapping, updated_by, check_coordinates=check_coordinates, commit=commit)
    report.seconds = time.perf_counter() - started
    return report


def _import(
    session: Session,
    report: ImportReport,
    fmt: str,
    path: Path,
    mapping: str | Path | None,
    updated_by: str | None,
    *,
    check_coordinates: bool,
    commit: bool,
) -> None:
    started = time.perf_counter()
    result = _read(fmt, path, mapping)
    report.timings["read"] = time.perf_counter() - started
    records = result.records
    report.refused.extend(result.refused)
    report.warnings.extend(result.warnings)
    try:
        load_records(
            session,
            records,
            report,
            updated_by=updated_by or f"import:{fmt}:{path.name}",
            check_coordinates=check_coordinates,
        )
        if commit:
            finishing = time.perf_counter()
            if report.written:
                session.commit()  # PostgreSQL refreshes the search tables of the touched services here
            else:
                session.rollback()
            report.timings["commit"] = time.perf_counter() - finishing
    except Exception:
        if commit:
            session.rollback()
        raise


def _read(fmt: str, path: Path, mapping: str | Path | None) -> ReadResult:
    # Imported here so that format modules can import Record from this module without a cycle.
    if fmt == "tabular":
        from resource_directory.hsds_tabular import read_tabular

        return read_tabular(path)
    if fmt == "json":
        from resource_directory.hsds_json import read_json

        return read_json(path)
    if fmt == "ohana":
        from resource_directory.ohana import read_ohana

        return read_ohana(path)
    from resource_directory.column_mapping import read_with_mapping

    return read_with_mapping(Path(mapping) if mapping is not None else path, data_dir=None if mapping is None else path)


__all__ = [
    "FORMATS",
    "ImportReport",
    "ReadResult",
    "Record",
    "detect_format",
    "hsds_columns",
    "import_path",
    "load_records",
]
