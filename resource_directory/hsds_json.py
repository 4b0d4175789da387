"""HSDS 3.0 JSON, both ways (market-and-hsds.md §B.3).

Reading: any ``.json`` / ``.ndjson`` file (or a directory of them) holding HSDS objects -- a single object
(``service_full.json``), a list, an API ``Page`` envelope (``*_list.json``) or Tabular JSON (``tabular.json``).
The object type comes from the file name (``service*.json`` -> service, ``taxonomy_terms.json`` ->
taxonomy_term, ...). Nested objects are flattened into one record per object; the nesting supplies the
reference it implies (a phone inside a service gets ``service_id``, an attribute inside a location gets
``link_id``/``link_entity``). The same object may appear many times (a phone under its service, its contact
and its location): occurrences are merged, and conflicting values are refused.

Writing: ``services.json`` (every service, nested "service_full" style: organization, program,
service_at_locations -> location -> addresses ..., attributes -> taxonomy_term -> taxonomy_detail),
``organizations.json`` (organizations with their locations, programs, identifiers, contacts, phones) and, so
that nothing is lost, one flat ``<objects>.json`` file for rows reachable from neither (e.g. unused taxonomy
terms). Absent values are omitted rather than written as null (HSDS mapping guidance).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.importer import ReadResult, Record, hsds_columns, render_value
from resource_directory.models import HSDS_MODELS, Base
from resource_directory.report import RowIssue

# parent object -> JSON key -> (child object, child field set to the parent id, parent field set to child id)
NESTING: dict[str, dict[str, tuple[str, str | None, str | None]]] = {
    "organization": {
        "funding": ("funding", "organization_id", None),
        "fundings": ("funding", "organization_id", None),
        "contacts": ("contact", "organization_id", None),
        "phones": ("phone", "organization_id", None),
        "locations": ("location", "organization_id", None),
        "programs": ("program", "organization_id", None),
        "organization_identifiers": ("organization_identifier", "organization_id", None),
        "services": ("service", "organization_id", None),
        "additional_websites": ("url", "organization_id", None),
    },
    "service": {
        "phones": ("phone", "service_id", None),
        "schedules": ("schedule", "service_id", None),
        "service_areas": ("service_area", "service_id", None),
        "service_at_locations": ("service_at_location", "service_id", None),
        "languages": ("language", "service_id", None),
        "funding": ("funding", "service_id", None),
        "fundings": ("funding", "service_id", None),
        "cost_options": ("cost_option", "service_id", None),
        "required_documents": ("required_document", "service_id", None),
        "contacts": ("contact", "service_id", None),
        "capacities": ("service_capacity", "service_id", None),
        "additional_urls": ("url", "service_id", None),
        "organization": ("organization", None, "organization_id"),
        "program": ("program", None, "program_id"),
    },
    "service_at_location": {
        "contacts": ("contact", "service_at_location_id", None),
        "phones": ("phone", "service_at_location_id", None),
        "schedules": ("schedule", "service_at_location_id", None),
        "service_areas": ("service_area", "service_at_location_id", None),
        "location": ("location", None, "location_id"),
        "service": ("service", None, "service_id"),
    },
    "location": {
        "languages": ("language", "location_id", None),
        "addresses": ("address", "location_id", None),
        "contacts": ("contact", "location_id", None),
        "accessibility": ("accessibility", "location_id", None),
        "accessibilities": ("accessibility", "location_id", None),
        "phones": ("phone", "location_id", None),
        "schedules": ("schedule", "location_id", None),
    },
    "contact": {"phones": ("phone", "contact_id", None)},
    "phone": {"languages": ("language", "phone_id", None)},
    "attribute": {"taxonomy_term": ("taxonomy_term", None, "taxonomy_term_id")},
    "taxonomy_term": {"taxonomy_detail": ("taxonomy", None, "taxonomy_id")},
    "service_capacity": {"unit": ("unit", None, "unit_id")},
}
# Any object may carry attributes and metadata; their link is (link_id, link_entity) / (resource_id, resource_type).
POLYMORPHIC = {
    "attributes": ("attribute", "link_id", "link_entity"),
    "metadata": ("metadata", "resource_id", "resource_type"),
}

# Export: which children each object embeds. "organization"/"program" inside a service are shallow.
EXPORT_CHILDREN: dict[str, list[str]] = {
    "service": [
        "organization",
        "program",
        "phones",
        "schedules",
        "service_areas",
        "service_at_locations",
        "languages",
        "funding",
        "cost_options",
        "required_documents",
        "contacts",
        "capacities",
        "additional_urls",
    ],
    "service_at_location": ["location", "phones", "schedules", "contacts", "service_areas"],
    "location": ["addresses", "languages", "accessibility", "phones", "schedules", "contacts"],
    "organization": [
        "funding",
        "contacts",
        "phones",
        "locations",
        "programs",
        "organization_identifiers",
        "additional_websites",
    ],
    "contact": ["phones"],
    "phone": ["languages"],
    "attribute": ["taxonomy_term"],
    "taxonomy_term": ["taxonomy_detail"],
    "service_capacity": ["unit"],
}
SHALLOW = {("service", "organization"), ("service", "program")}


def table_for_file(path: Path) -> str | None:
    """Which HSDS object a file holds, from its name: ``service_full.json`` -> service, ``taxonomies`` -> taxonomy."""
    stem = path.name.split(".")[0].lower()
    for suffix in ("_full", "_list", "_minimal"):
        stem = stem.removesuffix(suffix)
    candidates = [stem]
    if stem.endswith("ies"):
        candidates.append(stem[:-3] + "y")
    if stem.endswith("es"):
        candidates.append(stem[:-2])
    if stem.endswith("s"):
        candidates.append(stem[:-1])
    return next((c for c in candidates if c in HSDS_MODELS), None)


class _Collector:
    """Flattens nested objects and merges repeated occurrences of the same (object, id)."""

    def __init__(self, result: ReadResult) -> None:
        self.result = result
        self.records: dict[tuple[str, str], Record] = {}
        self.order: list[tuple[str, str]] = []

    def add(self, table: str, obj: Any, file: str, path: str, implied: dict[str, Any]) -> str | None:
        if not isinstance(obj, dict):
            self.result.refused.append(RowIssue(file, None, table, None, None, "expected a JSON object", path))
            return None
        scalars: dict[str, Any] = {}
        nested: list[tuple[str, Any]] = []
        for key, value in obj.items():
            if isinstance(value, dict | list):
                nested.append((key, value))
            else:
                scalars[key] = value
        for key, value in implied.items():
            if scalars.get(key) is None:
                scalars[key] = value
        obj_id = scalars.get("id")
        if obj_id is None or obj_id == "":
            rec = Record(table, scalars, file, path=path)
            rec.issues.append("id: required field is missing")
            self.result.records.append(rec)
            return None
        key = (table, str(obj_id))
        known = self.records.get(key)
        if known is None:
            self.records[key] = Record(table, scalars, file, path=path)
            self.order.append(key)
        else:
            for name, value in scalars.items():
                if value is None:
                    continue
                old = known.values.get(name)
                if old is None:
                    known.values[name] = value
                elif old != value and not any(i.startswith(f"{name}: conflicting") for i in known.issues):
                    known.issues.append(
                        f"{name}: conflicting values for the same id: {old!r} at {known.path} vs {value!r} at {path}"
                    )
        for child_key, value in nested:
            self._nested(table, str(obj_id), child_key, value, file, f"{path.rstrip('/')}/{child_key}")
        return str(obj_id)

    def _nested(self, table: str, obj_id: str, key: str, value: Any, file: str, path: str) -> None:
        spec = NESTING.get(table, {}).get(key)
        if key in POLYMORPHIC:
            child, id_field, type_field = POLYMORPHIC[key]
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                if isinstance(item, dict) and item.get(type_field) is None:
                    item = {**item, type_field: table}
                self.add(child, item, file, f"{path}/{i}", {id_field: obj_id})
            return
        if spec is None:
            self.result.warnings.append(
                RowIssue(file, None, table, obj_id, key, "property ignored (not an HSDS child)", path)
            )
            return
        child, child_fk, parent_fk = spec
        if parent_fk is not None:  # embedded single object the parent refers to
            child_id = self.add(child, value, file, path, {})
            rec = self.records.get((table, obj_id))
            if child_id is not None and rec is not None:
                if rec.values.get(parent_fk) in (None, child_id):
                    rec.values[parent_fk] = child_id
                else:
                    rec.issues.append(f"{parent_fk}: says {rec.values[parent_fk]!r} but embeds {child} {child_id!r}")
            return
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            self.add(child, item, file, f"{path}/{i}", {child_fk: obj_id} if child_fk else {})

    def finish(self) -> None:
        # A program embedded in a service belongs to that service's organization (HSDS requires
        # program.organization_id, and list/service views omit it).
        for (table, _id), rec in self.records.items():
            if table != "service" or rec.values.get("program_id") is None:
                continue
            program = self.records.get(("program", str(rec.values["program_id"])))
            if program is not None and program.values.get("organization_id") is None:
                program.values["organization_id"] = rec.values.get("organization_id")
        self.result.records.extend(self.records[k] for k in self.order)


def _iter_documents(file: Path) -> Iterator[tuple[Any, str]]:
    if file.suffix == ".ndjson":
        with file.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    yield json.loads(line), f"line {n}"
        return
    yield json.loads(file.read_text(encoding="utf-8")), ""


def read_json(path: Path) -> ReadResult:
    """Read HSDS JSON from a file or every ``*.json``/``*.ndjson`` file of a directory."""
    result = ReadResult()
    files = sorted([*path.glob("*.json"), *path.glob("*.ndjson")]) if path.is_dir() else [path]
    collector = _Collector(result)
    from resource_directory.hsds_tabular import official_descriptor

    tabular_names = {r["path"]: r["name"] for r in official_descriptor()["resources"]}
    for file in files:
        try:
            docs = list(_iter_documents(file))
        except (ValueError, UnicodeDecodeError) as exc:
            result.refused.append(RowIssue(file.name, None, "file", None, None, f"not valid JSON: {exc}"))
            continue
        for doc, where in docs:
            _read_document(doc, file, where, collector, tabular_names, result)
    collector.finish()
    return result


def _read_document(
    doc: Any, file: Path, where: str, collector: _Collector, tabular_names: dict[str, str], result: ReadResult
) -> None:
    if isinstance(doc, dict) and "openapi_url" in doc and "version" in doc:
        result.warnings.append(RowIssue(file.name, None, "file", None, None, "HSDS API root document skipped"))
        return
    if isinstance(doc, dict) and doc and all(str(k).endswith(".csv") for k in doc):
        for csv_name, rows in doc.items():  # Tabular JSON: flat rows keyed by CSV file name
            table = tabular_names.get(csv_name) or table_for_file(Path(csv_name))
            if table is None:
                result.refused.append(RowIssue(file.name, None, "file", None, None, f"unknown table {csv_name!r}"))
                continue
            for i, row in enumerate(rows):
                collector.add(table, row, file.name, f"/{csv_name}/{i}", {})
        return
    table = table_for_file(file)
    if table is None:
        result.refused.append(
            RowIssue(file.name, None, "file", None, None, "cannot tell which HSDS object this file holds from its name")
        )
        return
    base = f"{where}" if where else ""
    if isinstance(doc, dict) and "contents" in doc and "total_items" in doc:
        doc = doc["contents"]
        base += "/contents"
    items = doc if isinstance(doc, list) else [doc]
    for i, item in enumerate(items):
        collector.add(table, item, file.name, f"{base}/{i}" if isinstance(doc, list) else base or "/", {})


# --------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------


def _json_value(table: str, column: str, value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if table == "schedule" and column == "timezone" and isinstance(value, str):
        try:  # HSDS types timezone as a number; IANA names stay strings
            num = float(value)
        except ValueError:
            return value
        return int(num) if num.is_integer() else num
    if isinstance(value, int | str):
        return value
    return render_value(value)


class _Exporter:
    def __init__(self, session: Session) -> None:
        self.rows: dict[str, dict[str, Base]] = {}
        for table, model in HSDS_MODELS.items():
            objs = session.execute(select(model).order_by(model.id)).scalars().all()  # type: ignore[attr-defined]
            self.rows[table] = {o.id: o for o in objs}  # type: ignore[attr-defined]
        self.by_fk: dict[tuple[str, str], dict[str, list[Base]]] = defaultdict(lambda: defaultdict(list))
        for parent, keys in NESTING.items():
            for _key, (child, child_fk, _parent_fk) in keys.items():
                if child_fk and (child, child_fk) not in self.by_fk:
                    index = self.by_fk[(child, child_fk)]
                    for obj in self.rows[child].values():
                        ref = getattr(obj, child_fk)
                        if ref is not None:
                            index[ref].append(obj)
            del parent
        self.poly: dict[str, dict[str, list[Base]]] = {"attribute": defaultdict(list), "metadata": defaultdict(list)}
        for obj in self.rows["attribute"].values():
            self.poly["attribute"][obj.link_id].append(obj)  # type: ignore[attr-defined]
        for obj in self.rows["metadata"].values():
            self.poly["metadata"][obj.resource_id].append(obj)  # type: ignore[attr-defined]
        self.emitted: set[tuple[str, str]] = set()

    def scalars(self, table: str, obj: Base) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for col in hsds_columns(table):
            value = getattr(obj, col)
            if value is not None:
                out[col] = _json_value(table, col, value)
        return out

    def build(self, table: str, obj: Base, *, shallow: bool = False) -> dict[str, Any]:
        self.emitted.add((table, obj.id))  # type: ignore[attr-defined]
        doc = self.scalars(table, obj)
        if shallow:
            return doc
        for key in EXPORT_CHILDREN.get(table, []):
            child, child_fk, parent_fk = NESTING[table][key]
            if parent_fk is not None:
                target = self.rows[child].get(getattr(obj, parent_fk))
                if target is not None:
                    doc[key] = self.build(child, target, shallow=(table, key) in SHALLOW)
                continue
            kids = self.by_fk[(child, child_fk)].get(obj.id, [])  # type: ignore[arg-type, attr-defined]
            if kids:
                doc[key] = [self.build(child, k) for k in kids]
        for key, (child, _id_field, type_field) in POLYMORPHIC.items():
            kids = [
                k
                for k in self.poly[child].get(obj.id, [])  # type: ignore[attr-defined]
                if getattr(k, type_field) == table or getattr(k, type_field) not in HSDS_MODELS
            ]
            if kids:
                doc[key] = [self.build(child, k) for k in kids]
        return doc


def export_json(session: Session, out_dir: str | Path) -> dict[str, int]:
    """Write the directory as HSDS JSON files; returns the number of top-level objects per file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ex = _Exporter(session)
    files: dict[str, list[dict[str, Any]]] = {
        "services.json": [ex.build("service", s) for s in ex.rows["service"].values()],
        "organizations.json": [ex.build("organization", o) for o in ex.rows["organization"].values()],
    }
    for table in HSDS_MODELS:
        leftovers = [o for i, o in ex.rows[table].items() if (table, i) not in ex.emitted]
        if leftovers:
            name = {"taxonomy": "taxonomies", "address": "addresses", "accessibility": "accessibility"}.get(
                table, table + "s" if table != "metadata" else table
            )
            files.setdefault(f"{name}.json", []).extend(ex.scalars(table, o) for o in leftovers)
    counts: dict[str, int] = {}
    for name, docs in files.items():
        if not docs:
            continue
        (out / name).write_text(json.dumps(docs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        counts[name] = len(docs)
    return counts
