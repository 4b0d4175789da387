"""HSDS Tabular Data Package: one CSV per object plus ``datapackage.json``, both ways.

The official HSDS 3.0 descriptor is bundled (``data/hsds/datapackage-3.0.json``, CC BY-SA 4.0, see NOTICE.md)
and drives both directions: which file holds which object, and which columns an export writes, so an export
validates against the official descriptor with frictionless (market-and-hsds.md §B.3). HSDS 3.1 objects
(``service_capacity``, ``unit``, ``url``) have no 3.0 resource; they are exported as extra resources only
when the directory has such rows, described from the model.
"""

from __future__ import annotations

import csv
import json
from itertools import compress
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.importer import ReadResult, Record, hsds_columns, render_value
from resource_directory.models import HSDS_MODELS
from resource_directory.report import RowIssue

DESCRIPTOR_30 = Path(__file__).parent / "data" / "hsds" / "datapackage-3.0.json"

# HSDS 3.1 (dev) objects, described from the 3.1 JSON schemas because the 3.1-dev datapackage is incomplete.
_EXTRA_RESOURCES: dict[str, dict[str, Any]] = {
    "service_capacity": {
        "path": "service_capacity.csv",
        "fields": [
            ("id", "string", "uuid", True),
            ("service_id", "string", "uuid", True),
            ("unit_id", "string", "uuid", True),
            ("available", "number", None, True),
            ("maximum", "number", None, False),
            ("description", "string", None, False),
            ("updated", "datetime", None, True),
        ],
        "foreign_keys": [("service_id", "service"), ("unit_id", "unit")],
    },
    "unit": {
        "path": "units.csv",
        "fields": [
            ("id", "string", "uuid", True),
            ("name", "string", None, True),
            ("scheme", "string", None, False),
            ("identifier", "string", None, False),
            ("uri", "string", "uri", False),
        ],
        "foreign_keys": [],
    },
    "url": {
        "path": "url.csv",
        "fields": [
            ("id", "string", "uuid", True),
            ("label", "string", None, False),
            ("url", "string", "uri", True),
            ("organization_id", "string", "uuid", False),
            ("service_id", "string", "uuid", False),
        ],
        "foreign_keys": [("organization_id", "organization"), ("service_id", "service")],
    },
}


def official_descriptor() -> dict[str, Any]:
    """The official HSDS 3.0 ``datapackage.json`` (a fresh copy each call)."""
    return json.loads(DESCRIPTOR_30.read_text(encoding="utf-8"))


def _extra_resource(name: str) -> dict[str, Any]:
    spec = _EXTRA_RESOURCES[name]
    fields = []
    for fname, ftype, fmt, required in spec["fields"]:
        f: dict[str, Any] = {
            "name": fname,
            "type": ftype,
            "constraints": {"required": required, "unique": fname == "id"},
        }
        if fmt:
            f["format"] = fmt
        fields.append(f)
    return {
        "name": name,
        "path": spec["path"],
        "profile": "tabular-data-resource",
        "schema": {
            "fields": fields,
            "primaryKey": "id",
            "foreignKeys": [
                {"fields": col, "reference": {"resource": target, "fields": "id"}}
                for col, target in spec["foreign_keys"]
            ],
        },
    }


def _resources_for_reading(path: Path) -> tuple[list[dict[str, Any]], list[RowIssue]]:
    issues: list[RowIssue] = []
    descriptor_file = path / "datapackage.json"
    if descriptor_file.exists():
        try:
            resources = json.loads(descriptor_file.read_text(encoding="utf-8"))["resources"]
        except (ValueError, KeyError) as exc:
            issues.append(
                RowIssue("datapackage.json", None, "datapackage", None, None, f"unreadable descriptor: {exc}")
            )
            resources = official_descriptor()["resources"]
    else:
        resources = official_descriptor()["resources"]
    names = {r["name"] for r in resources}
    resources = list(resources) + [_extra_resource(n) for n in _EXTRA_RESOURCES if n not in names]
    return resources, issues


def read_tabular(path: Path) -> ReadResult:
    """Read every CSV of an HSDS Tabular Data Package directory into records (one per data row)."""
    result = ReadResult()
    resources, issues = _resources_for_reading(path)
    result.refused.extend(issues)
    for resource in resources:
        table = resource["name"]
        file = path / resource["path"]
        if not file.exists() or table not in HSDS_MODELS:
            continue
        _read_csv(file, table, result)
    return result


def _read_csv(file: Path, table: str, result: ReadResult) -> None:
    known = set(hsds_columns(table))
    with file.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            result.refused.append(RowIssue(file.name, 1, table, None, None, f"malformed CSV header: {exc}"))
            return
        unknown = [h for h in header if h not in known]
        if unknown:
            result.warnings.append(
                RowIssue(
                    file.name, 1, table, None, None, f"columns ignored (not HSDS {table} fields): {', '.join(unknown)}"
                )
            )
        name, width, records = file.name, len(header), result.records
        last_line = reader.line_num
        try:
            for cells in reader:
                start, last_line = last_line + 1, reader.line_num
                if not any(cells):  # blank line or only empty cells
                    continue
                # Empty cells are absent values: validation reads a missing field as empty, and most HSDS
                # cells are.
                rec = Record(table, dict(compress(zip(header, cells, strict=False), cells)), name, start)
                if len(cells) != width:
                    rec.issues.append(f"row has {len(cells)} cells but the header has {width}")
                records.append(rec)
        except csv.Error as exc:
            result.refused.append(RowIssue(name, last_line + 1, table, None, None, f"malformed CSV: {exc}"))


def export_tabular(session: Session, out_dir: str | Path, *, include_empty: bool = True) -> dict[str, int]:
    """Write the directory as an HSDS 3.0 Tabular Data Package. Returns rows written per object.

    Columns and files follow the official 3.0 descriptor exactly, so frictionless validates the export against
    it. Every 3.0 object gets its CSV, header-only when empty (``include_empty``), because the official foreign
    keys name those resources; with ``include_empty=False`` empty objects are left out together with their
    resource (only valid if nothing refers to them). Hub-only columns (``referral_status``, ``geocode_*``) are
    not HSDS and are never written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    descriptor = official_descriptor()
    resources = [r for r in descriptor["resources"] if r["name"] in HSDS_MODELS]
    names = {r["name"] for r in resources}
    resources += [_extra_resource(n) for n in _EXTRA_RESOURCES if n not in names]
    written: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for resource in resources:
        table = resource["name"]
        model = HSDS_MODELS[table]
        columns = [f["name"] for f in resource["schema"]["fields"]]
        rows = session.execute(select(model).order_by(model.id)).scalars().all()  # type: ignore[attr-defined]
        if not rows and (not include_empty or table in _EXTRA_RESOURCES):
            continue
        with (out / resource["path"]).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for obj in rows:
                writer.writerow([render_value(getattr(obj, c, None)) for c in columns])
        counts[table] = len(rows)
        written.append(resource)
    descriptor["resources"] = written
    (out / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts
