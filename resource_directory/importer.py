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
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Date, DateTime, Float, Integer, String, insert, select, update
from sqlalchemy.orm import Session

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


def _empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw == "")


@dataclass
class _Checked:
    record: Record
    values: dict[str, Any]
    problems: list[RowIssue]


def _validate(rec: Record, *, check_coordinates: bool) -> _Checked:
    problems = [rec.issue(*p.split(": ", 1)) if ": " in p else rec.issue(None, p) for p in rec.issues]
    model = HSDS_MODELS.get(rec.table)
    if model is None:
        return _Checked(rec, {}, [*problems, rec.issue(None, f"unknown HSDS object {rec.table!r}")])
    columns = {c.name: c for c in model.__table__.columns}
    allowed = set(hsds_columns(rec.table)) | IMPORTABLE_HUB_COLUMNS.get(rec.table, set())
    values: dict[str, Any] = {}
    for name, raw in rec.values.items():
        if name not in allowed:
            continue  # unknown columns are reported once per file by the readers
        if _empty(raw):
            values[name] = None
            continue
        try:
            value = coerce(rec.table, name, columns[name], raw)
        except ValueError as exc:
            problems.append(rec.issue(name, str(exc)))
            continue
        reason = _check_value(rec.table, name, value) if value is not None else None
        if reason:
            problems.append(rec.issue(name, reason))
            continue
        if rec.table == "schedule" and name in ("opens_at", "closes_at"):
            value = canonical_time(value)
        values[name] = value
    for name, column in columns.items():
        if name in allowed and not column.nullable and values.get(name) is None and column.server_default is None:
            if not any(p.field == name for p in problems):
                problems.append(rec.issue(name, "required field is missing"))
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
    for a, b in (("valid_from", "valid_to"), ("dtstart", "until")):
        if values.get(a) is not None and values.get(b) is not None and values[b] < values[a]:
            problems.append(rec.issue(b, f"{b} {values[b]} is before {a} {values[a]}"))
    return _Checked(rec, values, problems)


# --------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------


def _existing_ids(session: Session, table: str, ids: Iterable[str]) -> set[str]:
    model = HSDS_MODELS[table]
    found: set[str] = set()
    pending = list(ids)
    for i in range(0, len(pending), 500):
        chunk = pending[i : i + 500]
        found.update(session.scalars(select(model.id).where(model.id.in_(chunk))))  # type: ignore[attr-defined]
    return found


def _resolve_references(session: Session, checked: list[_Checked], report: ImportReport) -> list[_Checked]:
    """Refuse rows whose references cannot stand; cascade until stable. Returns the accepted rows."""
    accepted = [c for c in checked if not c.problems]
    refused_keys = {(c.record.table, c.record.id) for c in checked if c.problems}
    batch_keys = {(c.record.table, c.record.id) for c in accepted}

    wanted: dict[str, set[str]] = defaultdict(set)
    for c in accepted:
        for fld, target, _req in REFERENCES.get(c.record.table, []):
            v = c.values.get(fld)
            if v is not None and (target, v) not in batch_keys:
                wanted[target].add(v)
        if c.record.table == "attribute" and c.values.get("link_entity") in HSDS_MODELS:
            target = c.values["link_entity"]
            if (target, c.values["link_id"]) not in batch_keys:
                wanted[target].add(c.values["link_id"])
    in_db = {(t, i) for t, ids in wanted.items() for i in _existing_ids(session, t, ids)}

    warned: set[tuple[str, str | None, str]] = set()
    changed = True
    while changed:
        changed = False
        still: list[_Checked] = []
        for c in accepted:
            refs = [(f, t, r) for f, t, r in REFERENCES.get(c.record.table, [])]
            if c.record.table == "attribute" and c.values.get("link_entity") in HSDS_MODELS:
                refs.append(("link_id", c.values["link_entity"], True))
            for fld, target, required in refs:
                v = c.values.get(fld)
                if v is None:
                    continue
                if (target, v) in refused_keys:
                    c.problems.append(c.record.issue(fld, f"refers to {target} {v}, which was refused"))
                elif (target, v) not in batch_keys and (target, v) not in in_db:
                    if required:
                        c.problems.append(c.record.issue(fld, f"no {target} with id {v}"))
                    elif (c.record.table, c.record.id, fld) not in warned:
                        warned.add((c.record.table, c.record.id, fld))
                        report.warnings.append(
                            c.record.issue(fld, f"{target} {v} is not in this import or the directory (kept as is)")
                        )
            if c.problems:
                refused_keys.add((c.record.table, c.record.id))
                batch_keys.discard((c.record.table, c.record.id))
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
        if existing is not None and existing.geocode_source not in (None, "data"):
            return {
                "latitude": existing.latitude,
                "longitude": existing.longitude,
                "geocode_source": existing.geocode_source,
                "geocode_precision": existing.geocode_precision,
                "geocoded_at": existing.geocoded_at,
            }
        return {"geocode_source": None, "geocode_precision": None, "geocoded_at": None}
    source = values.get("geocode_source") or "data"
    same = (
        existing is not None
        and existing.latitude == lat
        and existing.longitude == lon
        and existing.geocode_source == source
    )
    return {
        "geocode_source": source,
        "geocode_precision": values.get("geocode_precision"),
        "geocoded_at": existing.geocoded_at if same else now,
    }


def _write(session: Session, accepted: list[_Checked], report: ImportReport, updated_by: str) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = now.date()
    by_table: dict[str, list[_Checked]] = defaultdict(list)
    for c in accepted:
        by_table[c.record.table].append(c)
    metadata_rows: list[dict[str, Any]] = []
    for table, model in HSDS_MODELS.items():
        rows = by_table.get(table)
        if not rows:
            continue
        cols = hsds_columns(table)
        existing: dict[str, Any] = {}
        ids = [c.record.id for c in rows]
        for i in range(0, len(ids), 500):
            for obj in session.execute(select(model).where(model.id.in_(ids[i : i + 500]))).scalars():  # type: ignore[attr-defined]
                existing[obj.id] = obj
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for c in rows:
            new = {col: c.values.get(col) for col in cols}
            old = existing.get(c.record.id)
            if table == "location":
                new.update(_location_hub_values(c.values, old, now))
            if old is None:
                inserts.append(new)
                continue
            diffs = [col for col in new if getattr(old, col) != new[col]]
            if not diffs:
                report.unchanged[table] += 1
                continue
            updates.append(new)
            for col in diffs:
                if col in ("geocoded_at", "geocode_precision", "geocode_source"):
                    continue  # provenance bookkeeping, not a change of the published record
                metadata_rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "resource_id": c.record.id,
                        "resource_type": table,
                        "last_action_date": today,
                        "last_action_type": "update",
                        "field_name": col,
                        "previous_value": render_value(getattr(old, col)),
                        "replacement_value": render_value(new[col]),
                        "updated_by": updated_by,
                    }
                )
        if existing:
            # The ORM objects were only needed for comparison; drop them so bulk UPDATEs are not shadowed.
            for obj in existing.values():
                session.expunge(obj)
        if inserts:
            session.execute(insert(model.__table__), inserts)  # type: ignore[attr-defined]
            report.created[table] += len(inserts)
        if updates:
            session.execute(update(model), updates)
            report.updated[table] += len(updates)
    if metadata_rows:
        session.execute(insert(MetadataEntry.__table__), metadata_rows)
        report.metadata_rows = len(metadata_rows)


def load_records(
    session: Session,
    records: Sequence[Record],
    report: ImportReport,
    *,
    updated_by: str,
    check_coordinates: bool = True,
) -> ImportReport:
    """Validate, resolve and (unless strict mode found refusals) upsert ``records``. Does not commit."""
    checked = [_validate(r, check_coordinates=check_coordinates) for r in records]

    # Duplicate ids within one import: every occurrence is refused -- we cannot know which one is right.
    seen: dict[tuple[str, str], list[_Checked]] = defaultdict(list)
    for c in checked:
        if c.record.id is not None and HSDS_MODELS.get(c.record.table) is not None:
            seen[(c.record.table, c.record.id)].append(c)
    for dups in seen.values():
        if len(dups) > 1:
            for c in dups:
                others = ", ".join(_where(o.record) for o in dups if o is not c)
                c.problems.append(c.record.issue("id", f"duplicate id (also at {others})"))

    accepted = _resolve_references(session, checked, report)
    for c in checked:
        report.refused.extend(c.problems)
    if report.refused and report.strict:
        report.written = False
        return report
    _write(session, accepted, report, updated_by)
    report.written = True
    return report


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
    result = _read(fmt, path, mapping)
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
            if report.written:
                session.commit()
            else:
                session.rollback()
    except Exception:
        if commit:
            session.rollback()
        raise
    report.seconds = time.perf_counter() - started
    return report


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
