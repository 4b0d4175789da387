"""HSDS 3.0 JSON documents for one API page, built with a few batched queries (no whole-directory load).

The nesting rules are the exporter's (``resource_directory.hsds_json``: ``NESTING``, ``EXPORT_CHILDREN``,
``POLYMORPHIC``, ``SHALLOW``), so ``/hsds/services/{id}`` returns exactly the object ``services.json`` of an
export holds, and the official ``service_full.json`` shape. What differs is the access pattern: the exporter
reads every table once; an API page reads only the rows its objects reach, level by level (one ``IN (…)`` query
per child table and level), which keeps a page of 20 fully nested services at a handful of round trips.

Absent values are omitted, never ``null`` (as the exporter does; HSDS mapping guidance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.hsds_json import EXPORT_CHILDREN, NESTING, POLYMORPHIC, SHALLOW
from resource_directory.importer import hsds_columns, render_value
from resource_directory.models import HSDS_MODELS, Base

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


def scalars(table: str, obj: Base) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in hsds_columns(table):
        value = getattr(obj, column)
        if value is not None:
            out[column] = scalar_value(table, column, value)
    return out


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


class DocumentBuilder:
    """Builds nested HSDS documents for a set of root objects; caches every row it loads."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.by_id: dict[str, dict[str, Base]] = defaultdict(dict)

    # ---- loading ---------------------------------------------------------------------------------------------
    def _load_by_ids(self, table: str, ids: Iterable[str]) -> None:
        missing = sorted({i for i in ids if i and i not in self.by_id[table]})
        model: Any = HSDS_MODELS[table]
        for chunk in _chunks(missing):
            for obj in self.session.execute(select(model).where(model.id.in_(chunk))).scalars():
                self.by_id[table][obj.id] = obj

    def _children(self, table: str, fk: str, parent_ids: Sequence[str]) -> dict[str, list[Base]]:
        model: Any = HSDS_MODELS[table]
        found: dict[str, list[Base]] = defaultdict(list)
        for chunk in _chunks(sorted(set(parent_ids))):
            rows = self.session.execute(select(model).where(getattr(model, fk).in_(chunk)).order_by(model.id))
            for obj in rows.scalars():
                self.by_id[table][obj.id] = obj
                found[getattr(obj, fk)].append(obj)
        return found

    def _polymorphic(self, table: str, id_field: str, parent_ids: Sequence[str]) -> dict[str, list[Base]]:
        return self._children(table, id_field, parent_ids)

    # ---- building --------------------------------------------------------------------------------------------
    def build(
        self, table: str, objects: Sequence[Base], *, children: dict[str, list[str]] | None = None
    ) -> list[dict[str, Any]]:
        """Documents for ``objects`` of ``table``; ``children`` overrides which keys each level embeds.

        ``children=None`` means fully nested (``EXPORT_CHILDREN``, the ``*_full.json`` shape, with attributes and
        metadata); ``LIST_CHILDREN`` gives the ``*_list.json`` shape (one shallow level).
        """
        docs = [scalars(table, obj) for obj in objects]
        self._fill(table, objects, docs, children, depth=0)
        return docs

    def _fill(
        self,
        table: str,
        objects: Sequence[Base],
        docs: list[dict[str, Any]],
        children: dict[str, list[str]] | None,
        depth: int,
    ) -> None:
        if not objects:
            return
        full = children is None
        if full:
            keys = EXPORT_CHILDREN.get(table, [])
        else:  # list shape: the keys named for each object, two levels at most (service_at_location → service → org)
            keys = (children or {}).get(table, []) if depth < 2 else []
        ids = [obj.id for obj in objects]  # type: ignore[attr-defined]
        for key in keys:
            child, child_fk, parent_fk = NESTING[table][key]
            shallow = full and (table, key) in SHALLOW
            if parent_fk is not None:
                self._load_by_ids(child, (getattr(obj, parent_fk) for obj in objects))
                targets = [self.by_id[child].get(getattr(obj, parent_fk)) for obj in objects]
                present = [(doc, target) for doc, target in zip(docs, targets, strict=True) if target is not None]
                child_docs = [scalars(child, target) for _, target in present]
                if not shallow:
                    self._fill(child, [t for _, t in present], child_docs, children, depth + 1)
                for (doc, _), child_doc in zip(present, child_docs, strict=True):
                    doc[key] = child_doc
                continue
            assert child_fk is not None
            found = self._children(child, child_fk, ids)
            flat: list[Base] = []
            owners: list[int] = []
            for index, obj_id in enumerate(ids):
                for kid in found.get(obj_id, []):
                    flat.append(kid)
                    owners.append(index)
            kid_docs = [scalars(child, kid) for kid in flat]
            if not shallow:
                self._fill(child, flat, kid_docs, children, depth + 1)
            for owner, kid_doc in zip(owners, kid_docs, strict=True):
                docs[owner].setdefault(key, []).append(kid_doc)
        if full:
            for key, (child, id_field, type_field) in POLYMORPHIC.items():
                found = self._polymorphic(child, id_field, ids)
                flat, owners = [], []
                for index, obj_id in enumerate(ids):
                    for kid in found.get(obj_id, []):
                        kind = getattr(kid, type_field)
                        if kind == table or kind not in HSDS_MODELS:
                            flat.append(kid)
                            owners.append(index)
                kid_docs = [scalars(child, kid) for kid in flat]
                self._fill(child, flat, kid_docs, children, depth + 1)
                for owner, kid_doc in zip(owners, kid_docs, strict=True):
                    docs[owner].setdefault(key, []).append(kid_doc)


def documents(
    session: Session, table: str, objects: Sequence[Base], *, full: bool, list_shape: bool = True
) -> list[dict[str, Any]]:
    """HSDS documents: ``full`` → fully nested; else the list shape (``list_shape``) or bare scalars."""
    builder = DocumentBuilder(session)
    if full:
        return builder.build(table, objects)
    return builder.build(table, objects, children=LIST_CHILDREN if list_shape else {})


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
