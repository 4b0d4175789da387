"""Declarative column-mapping importer: any CSV export -> HSDS 3.0 records, described in YAML (or JSON).

Why: most real directories (211 systems, city open-data portals) are not HSDS. A mapping file lets a data
steward say "this column is that HSDS field" without writing code. The format is documented in README.md
("Column mapping files"); ``mappings/nyc-city-funded-sites.yaml`` is a complete example.

Model: one *main* source is iterated row by row; other sources are looked up by key (``joins``); each row
produces the objects listed under ``objects`` (optionally one per list item with ``for_each``). Ids are
``uuid5`` of a template, so the same source row always yields the same id: re-imports update in place, and rows
that describe the same object (one provider on many site rows) produce it once -- the first non-empty value of
each field wins. Field values are templates (``"{provider.provider_name}"``), constants, references to another
object produced for the same row (``{ref: service}``) or values passed through ``null_if`` / ``map`` /
``transform`` steps.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resource_directory.importer import ReadResult, Record
from resource_directory.models import HSDS_MODELS
from resource_directory.report import RowIssue
from resource_directory.taxonomy import ID_NAMESPACE, open_eligibility_records, open_eligibility_term_id

FORMAT_VERSION = "hsds-column-mapping/1"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class MappingError(ValueError):
    """The mapping file itself is wrong (not a data problem): raised before anything is read."""


# ---------------------------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    """``"Text {column} {join.column} {item}"``; renders to None when every placeholder is empty."""

    parts: tuple[tuple[bool, str], ...]  # (is_placeholder, text)

    @classmethod
    def parse(cls, text: str) -> Template:
        parts: list[tuple[bool, str]] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                parts.append((False, text[pos : m.start()]))
            parts.append((True, m.group(1).strip()))
            pos = m.end()
        if pos < len(text):
            parts.append((False, text[pos:]))
        return cls(tuple(parts))

    @property
    def has_placeholders(self) -> bool:
        return any(p for p, _ in self.parts)

    def render(self, scope: Scope) -> str | None:
        out: list[str] = []
        filled = False
        for is_ph, text in self.parts:
            if not is_ph:
                out.append(text)
                continue
            value = scope.lookup(text)
            if value:
                filled = True
                out.append(value)
        if self.has_placeholders and not filled:
            return None
        return "".join(out).strip() or None


@dataclass
class Scope:
    row: dict[str, str]
    joined: dict[str, dict[str, str] | None]
    item: str | None = None
    ids: dict[str, str | None] = field(default_factory=dict)  # object name -> id produced for this row/item

    def lookup(self, name: str) -> str | None:
        if name == "item":
            return self.item
        if "." in name:
            alias, col = name.split(".", 1)
            if alias in self.joined:
                other = self.joined[alias]
                return None if other is None else (other.get(col) or None)
        return self.row.get(name) or None

    def child(self, item: str) -> Scope:
        return Scope(self.row, self.joined, item, dict(self.ids))


# ---------------------------------------------------------------------------------------------- transforms


def _url(value: str) -> str:
    return value if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value) else f"http://{value}"


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": lambda v: " ".join(w[:1].upper() + w[1:] for w in v.split(" ")),
    "strip": str.strip,
    "url": _url,
    "open_eligibility_term": open_eligibility_term_id,  # OE 2014 code -> taxonomy_term id
}


@dataclass
class FieldSpec:
    template: Template | None = None
    const: Any = None
    ref: str | None = None
    null_if: frozenset[str] = frozenset()
    value_map: dict[str, Any] | None = None
    map_missing: str = "keep"  # keep | null
    transforms: tuple[str, ...] = ()

    def value(self, scope: Scope) -> Any:
        if self.ref is not None:
            return scope.ids.get(self.ref)
        if self.template is None:
            return self.const
        value: Any = self.template.render(scope)
        if value is None or value.lower() in self.null_if:
            return None
        if self.value_map is not None:
            key = value.lower()
            if key in self.value_map:
                value = self.value_map[key]
            elif self.map_missing == "null":
                return None
            if value is None:
                return None
        for name in self.transforms:
            value = TRANSFORMS[name](str(value))
        return value


def _field_spec(raw: Any, value_maps: dict[str, dict[str, Any]], where: str) -> FieldSpec:
    if isinstance(raw, str):
        tpl = Template.parse(raw)
        return FieldSpec(template=tpl) if tpl.has_placeholders else FieldSpec(const=raw)
    if not isinstance(raw, dict):
        return FieldSpec(const=raw)
    unknown = set(raw) - {"value", "const", "ref", "null_if", "map", "map_missing", "transform"}
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    spec = FieldSpec()
    if "ref" in raw:
        spec.ref = str(raw["ref"])
    elif "value" in raw:
        spec.template = Template.parse(str(raw["value"]))
    else:
        spec.const = raw.get("const")
    spec.null_if = frozenset(str(v).lower() for v in raw.get("null_if", []))
    if "map" in raw:
        m = raw["map"]
        if isinstance(m, str):
            if m not in value_maps:
                raise MappingError(f"{where}: unknown value map {m!r}")
            m = value_maps[m]
        spec.value_map = {str(k).lower(): v for k, v in dict(m).items()}
    spec.map_missing = raw.get("map_missing", "keep")
    if spec.map_missing not in ("keep", "null"):
        raise MappingError(f"{where}: map_missing must be 'keep' or 'null'")
    transforms = raw.get("transform", [])
    spec.transforms = tuple([transforms] if isinstance(transforms, str) else transforms)
    for name in spec.transforms:
        if name not in TRANSFORMS:
            raise MappingError(f"{where}: unknown transform {name!r} (known: {', '.join(TRANSFORMS)})")
    return spec


# ---------------------------------------------------------------------------------------------- objects


@dataclass
class Condition:
    spec: FieldSpec
    equals: str | None = None
    empty: bool = False

    def holds(self, scope: Scope) -> bool:
        value = self.spec.value(scope)
        text = "" if value is None else str(value)
        if self.empty:
            return text == ""
        if self.equals is not None:
            return text.lower() == self.equals.lower()
        return text not in ("", "false", "0")


@dataclass
class ForEach:
    spec: FieldSpec
    split: str  # "json" or a separator

    def items(self, scope: Scope) -> list[str]:
        value = self.spec.value(scope)
        if not value:
            return []
        if self.split == "json":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = [value]
            raw_items = parsed if isinstance(parsed, list) else [parsed]
        else:
            raw_items = str(value).split(self.split)
        out: list[str] = []
        for item in raw_items:
            text = str(item).strip()
            if text and text not in out:
                out.append(text)
        return out


@dataclass
class ObjectSpec:
    table: str
    name: str | None
    id_template: Template
    fields: dict[str, FieldSpec]
    when: Condition | None = None
    for_each: ForEach | None = None
    children: list[ObjectSpec] = field(default_factory=list)  # group: objects produced per for_each item


def _condition(raw: Any, value_maps: dict[str, dict[str, Any]], where: str) -> Condition:
    if isinstance(raw, dict):
        spec = _field_spec({k: v for k, v in raw.items() if k not in ("equals", "empty")}, value_maps, where)
        equals = raw.get("equals")
        return Condition(spec, None if equals is None else str(equals), bool(raw.get("empty", False)))
    return Condition(_field_spec(str(raw), value_maps, where))


def _object_spec(raw: dict[str, Any], value_maps: dict[str, dict[str, Any]], where: str) -> ObjectSpec:
    for_each = None
    if "for_each" in raw:
        fe = raw["for_each"]
        if not isinstance(fe, dict) or "value" not in fe:
            raise MappingError(f"{where}: for_each needs {{value: ..., split: ...}}")
        for_each = ForEach(_field_spec({"value": fe["value"]}, value_maps, where), str(fe.get("split", ",")))
    when = _condition(raw["when"], value_maps, where) if "when" in raw else None
    if "objects" in raw:  # a group
        children = [_object_spec(c, value_maps, f"{where}.objects[{i}]") for i, c in enumerate(raw["objects"])]
        return ObjectSpec("", raw.get("name"), Template(()), {}, when, for_each, children)
    table = raw.get("table")
    if table not in HSDS_MODELS:
        raise MappingError(f"{where}: table must be an HSDS object, got {table!r}")
    if "id" not in raw:
        raise MappingError(f"{where}: every object needs an id template")
    fields = {str(k): _field_spec(v, value_maps, f"{where}.fields.{k}") for k, v in (raw.get("fields") or {}).items()}
    columns = {c.name for c in HSDS_MODELS[table].__table__.columns}  # type: ignore[attr-defined]
    bad = set(fields) - columns
    if bad:
        raise MappingError(f"{where}: {table} has no field(s) {sorted(bad)}")
    return ObjectSpec(table, raw.get("name"), Template.parse(str(raw["id"])), fields, when, for_each)


@dataclass
class Mapping:
    name: str
    id_namespace: uuid.UUID
    data_dir: Path
    main: str
    sources: dict[str, dict[str, Any]]
    joins: dict[str, tuple[str, str]]  # alias -> (source, main column)
    objects: list[ObjectSpec]
    include_open_eligibility: bool = False


def load_mapping(path: Path, data_dir: Path | None = None) -> Mapping:
    """Parse and check a mapping file (YAML or JSON). Raises MappingError for any structural problem."""
    text = path.read_text(encoding="utf-8")
    raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_VERSION:
        raise MappingError(f"{path.name}: expected 'format: {FORMAT_VERSION}'")
    value_maps = {k: {str(a).lower(): b for a, b in v.items()} for k, v in (raw.get("value_maps") or {}).items()}
    sources = raw.get("sources") or {}
    main = raw.get("rows")
    if main not in sources:
        raise MappingError(f"{path.name}: 'rows' must name one of the sources {sorted(sources)}")
    joins: dict[str, tuple[str, str]] = {}
    for alias, j in (raw.get("joins") or {}).items():
        # ("column", not "on": YAML 1.1 reads a bare ``on`` key as the boolean True.)
        if not isinstance(j, dict) or j.get("source") not in sources or "key" not in sources[j["source"]]:
            raise MappingError(f"{path.name}: join {alias!r} needs a source with a 'key' column")
        if "column" not in j:
            raise MappingError(f"{path.name}: join {alias!r} needs 'column' (the main-source column to look up)")
        joins[alias] = (j["source"], j["column"])
    objects = [_object_spec(o, value_maps, f"{path.name}:objects[{i}]") for i, o in enumerate(raw.get("objects") or [])]
    names = _names(objects)
    for spec in _walk(objects):
        for fname, fs in spec.fields.items():
            if fs.ref is not None and fs.ref not in names:
                raise MappingError(f"{path.name}: {spec.table}.{fname} refers to unknown object name {fs.ref!r}")
    base = data_dir or (path.parent / raw.get("data_dir", ".")).resolve()
    return Mapping(
        name=str(raw.get("name", path.stem)),
        id_namespace=uuid.uuid5(ID_NAMESPACE, f"mapping:{raw.get('id_namespace', raw.get('name', path.stem))}"),
        data_dir=base,
        main=main,
        sources=sources,
        joins=joins,
        objects=objects,
        include_open_eligibility=bool(raw.get("include_open_eligibility", False)),
    )


def _walk(specs: list[ObjectSpec]) -> Iterator[ObjectSpec]:
    for s in specs:
        yield s
        yield from _walk(s.children)


def _names(specs: list[ObjectSpec]) -> set[str]:
    return {s.name for s in _walk(specs) if s.name}


# ---------------------------------------------------------------------------------------------- reading


def _open_csv(file: Path) -> io.TextIOBase:
    if file.suffix == ".gz":
        return gzip.open(file, "rt", encoding="utf-8-sig", newline="")  # type: ignore[return-value]
    return file.open(encoding="utf-8-sig", newline="")  # type: ignore[return-value]


def _rows(file: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with _open_csv(file) as fh:
        reader = csv.DictReader(fh)
        last = reader.line_num
        for row in reader:
            yield last + 1, {k: (v or "").strip() for k, v in row.items() if k is not None}
            last = reader.line_num


class _Producer:
    def __init__(self, mapping: Mapping, main_file: str) -> None:
        self.m = mapping
        self.file = main_file
        self.records: dict[tuple[str, str], Record] = {}
        self.order: list[tuple[str, str]] = []

    def uid(self, rendered: str) -> str:
        return str(uuid.uuid5(self.m.id_namespace, rendered))

    def run(self, specs: list[ObjectSpec], scope: Scope, line: int) -> None:
        for spec in specs:
            if spec.for_each is not None:
                for item in spec.for_each.items(scope):
                    inner = scope.child(item)
                    if spec.when is not None and not spec.when.holds(inner):
                        continue
                    if spec.children:
                        self.run(spec.children, inner, line)
                    else:
                        self.produce(spec, inner, line)
                continue
            if spec.when is not None and not spec.when.holds(scope):
                if spec.name:
                    scope.ids[spec.name] = None
                continue
            if spec.children:
                self.run(spec.children, scope, line)
            else:
                self.produce(spec, scope, line)

    def produce(self, spec: ObjectSpec, scope: Scope, line: int) -> None:
        rendered = spec.id_template.render(scope)
        if rendered is None:
            if spec.name:
                scope.ids[spec.name] = None
            return
        obj_id = self.uid(f"{spec.table}:{rendered}")
        if spec.name:
            scope.ids[spec.name] = obj_id
        values = {"id": obj_id}
        for fname, fs in spec.fields.items():
            values[fname] = fs.value(scope)
        key = (spec.table, obj_id)
        known = self.records.get(key)
        if known is None:
            self.records[key] = Record(spec.table, values, self.file, row=line)
            self.order.append(key)
            return
        for fname, value in values.items():  # same object from another row: first non-empty value wins
            if known.values.get(fname) in (None, "") and value not in (None, ""):
                known.values[fname] = value


def read_with_mapping(mapping_path: Path, data_dir: Path | None = None) -> ReadResult:
    """Read the sources a mapping file names and produce HSDS records (one pass over the main source)."""
    mapping = load_mapping(mapping_path, data_dir)
    result = ReadResult()
    lookups: dict[str, dict[str, dict[str, str]]] = {}
    for alias, (source, _on) in mapping.joins.items():
        if source in lookups:
            continue
        spec = mapping.sources[source]
        file = mapping.data_dir / spec["file"]
        if not file.exists():
            result.refused.append(RowIssue(spec["file"], None, "file", None, None, "source file not found"))
            return result
        table: dict[str, dict[str, str]] = {}
        for line, row in _rows(file):
            k = row.get(spec["key"], "")
            if k in table:
                result.warnings.append(
                    RowIssue(file.name, line, "file", k, spec["key"], "duplicate join key; first row kept")
                )
                continue
            table[k] = row
        lookups[source] = table
        del alias
    main_spec = mapping.sources[mapping.main]
    main_file = mapping.data_dir / main_spec["file"]
    if not main_file.exists():
        result.refused.append(RowIssue(main_spec["file"], None, "file", None, None, "source file not found"))
        return result
    producer = _Producer(mapping, main_file.name)
    for line, row in _rows(main_file):
        joined: dict[str, dict[str, str] | None] = {}
        for alias, (source, on) in mapping.joins.items():
            joined[alias] = lookups[source].get(row.get(on, ""))
            if joined[alias] is None and row.get(on):
                result.warnings.append(
                    RowIssue(main_file.name, line, "file", None, on, f"no {source} row with key {row.get(on)!r}")
                )
        producer.run(mapping.objects, Scope(row, joined), line)
    if mapping.include_open_eligibility:
        oe_records, oe_warnings = open_eligibility_records()
        result.records.extend(oe_records)
        result.warnings.extend(oe_warnings)
    result.records.extend(producer.records[k] for k in producer.order)
    return result
