"""HSDS 3.0 JSON documents for one API page, built with a few batched queries (no whole-directory load).

The nesting rules are the exporter's (``resource_directory.hsds_json``: ``NESTING``, ``EXPORT_CHILDREN``,
``POLYMORPHIC``, ``SHALLOW``), so ``/hsds/services/{id}`` returns exactly the object ``services.json`` of an
export holds, and the official ``service_full.json`` shape. What differs is the access pattern: the exporter
reads every table once; an API page reads only the rows its objects reach, level by level (one ``IN (…)`` query
per child table and level), which keeps a page of 20 fully nested services at a handful of round trips.

Rows are read with Core statements as plain tuples (every column of the table, in table order) and turned into
documents through a per-table list of (position, field, converter): no ORM identity map, no attribute
instrumentation, one type test per value. ORM objects handed in by callers are read the same way.

Absent values are omitted, never ``null`` (as the exporter does; HSDS mapping guidance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import TextualSelect, select, text
from sqlalchemy.orm import Session

from resource_directory.hsds_json import EXPORT_CHILDREN, NESTING, POLYMORPHIC, SHALLOW
from resource_directory.importer import render_value
from resource_directory.models import HSDS_MODELS, HUB_ONLY_COLUMNS, Base
from resource_directory.search.page_sql import in_list, list_param

CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit

#: The list views of the HSDS API embed these objects shallowly (official ``*_list.json`` examples).
LIST_CHILDREN: dict[str, list[str]] = {
    "service": ["organization", "program"],
    "service_at_location": ["location", "service"],
    "taxonomy_term": ["taxonomy_detail"],
    "organization": [],
    "taxonomy": [],
}


def scalar_value(table: str, column: str, value: Any) -> Any:
    """A column value as HSDS JSON: numbers without a spurious ``.0``, dates ISO, the schedule zone as a number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if table == "schedule" and column == "timezone" and isinstance(value, str):
        try:  # HSDS types timezone as a number; IANA names stay strings
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if isinstance(value, int | str):
        return value
    return render_value(value)


def _number(value: Any) -> Any:
    return scalar_value("", "", value)


def _schedule_timezone(value: Any) -> Any:
    return scalar_value("schedule", "timezone", value)


#: Values of these types are their own HSDS JSON (``bool`` is a subclass of ``int`` but a type of its own here).
_AS_IS = frozenset({str, int, bool})


@cache
def _fields(table: str) -> tuple[tuple[int, str, Callable[[Any], Any] | None], ...]:
    """(position in the table's columns, HSDS field, converter or None when plain types pass unchanged)."""
    hub = HUB_ONLY_COLUMNS.get(table, frozenset())
    fields = []
    for position, column in enumerate(HSDS_MODELS[table].__table__.columns):
        if column.name in hub:
            continue
        special = table == "schedule" and column.name == "timezone"
        fields.append((position, column.name, _schedule_timezone if special else None))
    return tuple(fields)


@cache
def _position(table: str, column: str) -> int:
    return [c.name for c in HSDS_MODELS[table].__table__.columns].index(column)


@cache
def _column_names(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in HSDS_MODELS[table].__table__.columns)


def as_row(table: str, obj: Base | Sequence[Any]) -> Sequence[Any]:
    """Every column value of ``obj`` in table order: a Core row as is, an ORM object read attribute by attribute."""
    if isinstance(obj, Base):
        return tuple(getattr(obj, name) for name in _column_names(table))
    return obj


def row_scalars(table: str, row: Sequence[Any]) -> dict[str, Any]:
    """The HSDS scalars of a row of ``table`` (all columns, table order); same values as :func:`scalar_value`."""
    out: dict[str, Any] = {}
    for position, name, convert in _fields(table):
        value = row[position]
        if value is None:
            continue
        if convert is not None:
            out[name] = convert(value)
        elif type(value) in _AS_IS:
            out[name] = value
        else:
            out[name] = _number(value)
    return out


def scalars(table: str, obj: Base) -> dict[str, Any]:
    return row_scalars(table, as_row(table, obj))


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


@cache
def _select_by(dialect: str, table: str, column: str, ordered: bool) -> TextualSelect:
    """Every column of ``table`` for rows whose ``column`` is one of ``:ids`` (typed, so dates come back as dates).

    One SQL text whatever the number of ids (``= ANY`` / ``json_each``), so PostgreSQL can reuse its prepared plan.
    """
    model: Any = HSDS_MODELS[table]
    columns = ", ".join(f'"{name}"' for name in _column_names(table))
    order = " ORDER BY id" if ordered else ""
    sql = f"SELECT {columns} FROM {model.__tablename__} WHERE {in_list(dialect, column, 'ids')}{order}"  # noqa: S608
    return text(sql).columns(*model.__table__.columns)


Row = Sequence[Any]


class DocumentBuilder:
    """Builds nested HSDS documents for a set of root objects; caches every row it loads."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.by_id: dict[str, dict[str, Row]] = defaultdict(dict)

    # ---- loading ---------------------------------------------------------------------------------------------
    def _rows(self, table: str, column: str, ids: Sequence[str], *, ordered: bool) -> Iterable[Row]:
        statement = _select_by(self.dialect, table, column, ordered)
        connection = self.session.connection()  # Core rows: the ORM's execute machinery adds nothing here
        for chunk in _chunks(ids):
            yield from connection.execute(statement, {"ids": list_param(self.dialect, chunk)}).all()

    def _load_by_ids(self, table: str, ids: Iterable[str]) -> None:
        known = self.by_id[table]
        missing = sorted({i for i in ids if i and i not in known})
        for row in self._rows(table, "id", missing, ordered=False):
            known[row[0]] = row

    def load_roots(self, table: str, ids: Sequence[str]) -> list[Row]:
        """The rows of ``table`` with these ids, in the order of ``ids`` (unknown ids are left out)."""
        self._load_by_ids(table, ids)
        known = self.by_id[table]
        return [known[i] for i in ids if i in known]

    def _children(self, table: str, fk: str, parent_ids: Sequence[str]) -> dict[str, list[Row]]:
        found: dict[str, list[Row]] = defaultdict(list)
        known = self.by_id[table]
        at = _position(table, fk)
        for row in self._rows(table, fk, sorted(set(parent_ids)), ordered=True):
            known[row[0]] = row
            found[row[at]].append(row)
        return found

    # ---- building --------------------------------------------------------------------------------------------
    def build(
        self, table: str, objects: Sequence[Base | Row], *, children: dict[str, list[str]] | None = None
    ) -> list[dict[str, Any]]:
        """Documents for ``objects`` of ``table`` (ORM objects or rows of every column in table order);
        ``children`` overrides which keys each level embeds.

        ``children=None`` means fully nested (``EXPORT_CHILDREN``, the ``*_full.json`` shape, with attributes and
        metadata); ``LIST_CHILDREN`` gives the ``*_list.json`` shape (one shallow level).
        """
        rows = [as_row(table, obj) for obj in objects]
        docs = [row_scalars(table, row) for row in rows]
        self._fill(table, rows, docs, children, depth=0)
        return docs

    def _fill(
        self,
        table: str,
        rows: Sequence[Row],
        docs: list[dict[str, Any]],
        children: dict[str, list[str]] | None,
        depth: int,
    ) -> None:
        if not rows:
            return
        full = children is None
        if full:
            keys = EXPORT_CHILDREN.get(table, [])
        else:  # list shape: the keys named for each object, two levels at most (service_at_location → service → org)
            keys = (children or {}).get(table, []) if depth < 2 else []
        ids = [row[0] for row in rows]  # ``id`` is every HSDS table's first column
        for key in keys:
            child, child_fk, parent_fk = NESTING[table][key]
            shallow = full and (table, key) in SHALLOW
            if parent_fk is not None:
                at = _position(table, parent_fk)
                self._load_by_ids(child, (row[at] for row in rows))
                known = self.by_id[child]
                targets = [known.get(row[at]) for row in rows]
                present = [(doc, target) for doc, target in zip(docs, targets, strict=True) if target is not None]
                child_docs = [row_scalars(child, target) for _, target in present]
                if not shallow:
                    self._fill(child, [t for _, t in present], child_docs, children, depth + 1)
                for (doc, _), child_doc in zip(present, child_docs, strict=True):
                    doc[key] = child_doc
                continue
            assert child_fk is not None
            self._nest(key, child, self._children(child, child_fk, ids), ids, docs, children, depth, shallow, None)
        if full:
            for key, (child, id_field, type_field) in POLYMORPHIC.items():
                found = self._children(child, id_field, ids)
                self._nest(key, child, found, ids, docs, children, depth, False, (table, _position(child, type_field)))

    def _nest(
        self,
        key: str,
        child: str,
        found: dict[str, list[Row]],
        ids: Sequence[str],
        docs: list[dict[str, Any]],
        children: dict[str, list[str]] | None,
        depth: int,
        shallow: bool,
        polymorphic: tuple[str, int] | None,
    ) -> None:
        """Put each owner's ``found`` child rows under ``key`` (polymorphic: only those typed as the owner's table)."""
        flat: list[Row] = []
        owners: list[int] = []
        for index, obj_id in enumerate(ids):
            for kid in found.get(obj_id, []):
                if polymorphic is not None:
                    kind = kid[polymorphic[1]]
                    if kind != polymorphic[0] and kind in HSDS_MODELS:
                        continue
                flat.append(kid)
                owners.append(index)
        kid_docs = [row_scalars(child, kid) for kid in flat]
        if not shallow:
            self._fill(child, flat, kid_docs, children, depth + 1)
        for owner, kid_doc in zip(owners, kid_docs, strict=True):
            docs[owner].setdefault(key, []).append(kid_doc)


def documents(
    session: Session, table: str, objects: Sequence[Base | Row], *, full: bool, list_shape: bool = True
) -> list[dict[str, Any]]:
    """HSDS documents: ``full`` → fully nested; else the list shape (``list_shape``) or bare scalars."""
    builder = DocumentBuilder(session)
    if full:
        return builder.build(table, objects)
    return builder.build(table, objects, children=LIST_CHILDREN if list_shape else {})


def documents_by_ids(
    session: Session, table: str, ids: Sequence[str], *, full: bool, nested: bool = True
) -> list[dict[str, Any]]:
    """:func:`documents` for the objects with these ids, in the order of ``ids`` (unknown ids are left out);
    ``nested=False``: bare scalars."""
    builder = DocumentBuilder(session)
    rows = builder.load_roots(table, ids)
    if full:
        return builder.build(table, rows)
    return builder.build(table, rows, children=LIST_CHILDREN if nested else {})


def organization_with_services(session: Session, organization: Base) -> dict[str, Any]:
    """``organization_full`` plus its services, each fully nested (the ``full_service`` parameter)."""
    builder = DocumentBuilder(session)
    doc = builder.build("organization", [organization])[0]
    model: Any = HSDS_MODELS["service"]
    services = list(
        session.execute(select(model).where(model.organization_id == organization.id).order_by(model.id)).scalars()  # type: ignore[attr-defined]
    )
    if services:
        doc["services"] = builder.build("service", services)
    return doc
