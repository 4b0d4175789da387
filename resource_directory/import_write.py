"""The database side of an import: set-wise lookups, bulk inserts and search upkeep, in the caller's transaction.

Why a module of its own: ``importer.load_records`` decides *what* to write (validation, references, change
log); this module decides *how*, so a feed of hundreds of thousands of rows costs a few statements per object
instead of a statement (and a trigger cascade) per row:

* existing rows are fetched in large ``IN`` chunks as plain tuples (no ORM objects, no identity map);
* new rows go in with ``COPY … FROM STDIN`` on PostgreSQL and one ``executemany`` per object on SQLite;
* search upkeep: on PostgreSQL the statement-level triggers of ``resource_directory.ddl`` note the touched
  services once per statement and refresh them at COMMIT, so nothing is needed here; on SQLite the triggers
  are per row (SQLite has no statement triggers), so :func:`suspend_row_triggers` drops them inside the
  import's transaction and :func:`bring_search_up_to_date` refreshes the touched services set-wise before
  re-creating them. SQLite DDL is transactional: a failed import rolls the triggers back into place with
  everything else;
* :class:`WritePipeline` runs all of that on a worker thread inside a SAVEPOINT, so the database works while
  the importer is still validating.
"""

# Table and column names in the SQL built here come from the SQLAlchemy models, never from the feed; values
# are always bound parameters (or COPY data), so the S608 "string-built SQL" warning does not apply.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text, update

from resource_directory import ddl

# Large enough to make round trips rare, small enough for SQLite's bound-parameter limit (32,766).
LOOKUP_CHUNK = 5000


def _id_set_sql(connection: Connection) -> str:
    """SQL for "the ids in the bound parameter ``:ids``" as one parameter, however many ids: an expanding
    ``IN`` would make SQLAlchemy render and bind thousands of parameters per statement."""
    if connection.dialect.name == "postgresql":
        return "SELECT unnest(CAST(:ids AS text[]))"
    return "SELECT value FROM json_each(:ids)"


def _ids_param(connection: Connection, ids: Sequence[str]) -> Any:
    return list(ids) if connection.dialect.name == "postgresql" else json.dumps(list(ids))


def existing_ids(connection: Connection, table: Table, ids: Iterable[str]) -> set[str]:
    """The ids among ``ids`` that ``table`` already holds."""
    return set(existing_rows(connection, table, ["id"], list(ids)))


def has_rows(connection: Connection, table: Table) -> bool:
    """Whether ``table`` holds any row at all."""
    return connection.execute(text(f"SELECT 1 FROM {table.name} LIMIT 1")).first() is not None


def existing_rows(connection: Connection, table: Table, columns: Sequence[str], ids: Sequence[str]) -> dict[str, Any]:
    """``id -> row mapping`` (``columns`` only, with the column types' Python values) for rows already there."""
    found: dict[str, Any] = {}
    wanted = [table.c.id, *(table.c[c] for c in columns if c != "id")]
    names = ", ".join(c.name for c in wanted)
    statement = text(f"SELECT {names} FROM {table.name} WHERE id IN ({_id_set_sql(connection)})").columns(*wanted)
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for row in connection.execute(statement, {"ids": _ids_param(connection, chunk)}):
            found[row.id] = row._mapping
    return found


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert new rows (tuples in ``columns`` order): ``COPY`` on PostgreSQL, one ``executemany`` elsewhere."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        copy_rows(connection, table, columns, copy_text(rows))
        return
    # The column types' bind processors turn dates into SQLite's stored text exactly as the ORM would.
    processors = [table.c[c].type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for c in columns]
    if any(processors):
        convert = [(i, p) for i, p in enumerate(processors) if p is not None]
        rows = [_processed(row, convert) for row in rows]
    placeholders = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # dates and (naive UTC) date-times
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def copy_text(rows: list[tuple[Any, ...]]) -> str:
    """Rows in PostgreSQL's COPY text format.

    Formatted by the importer's own thread so that the write pipeline's worker only sends bytes: psycopg's
    ``write_row`` there would hold the GIL per row and stall both threads (see :class:`WritePipeline`).
    Column by column: a text column with nothing to escape (most of a feed) is taken as it is, and only the
    other columns format value by value.
    """
    if not rows:
        return ""
    columns: list[list[str]] = []
    for column in zip(*rows, strict=True):
        text_only = set(map(type, column)) <= _TEXT_TYPES
        if text_only and not _NEEDS_ESCAPE.search("".join(filter(None, column))):
            columns.append(["\\N" if value is None else value for value in column])
        else:
            columns.append(list(map(_copy_field, column)))
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


_TEXT_TYPES = {str, type(None)}
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")


def copy_rows(connection: Connection, table: Table, columns: Sequence[str], payload: str) -> None:
    """PostgreSQL: ``COPY`` rows already in COPY text format (:func:`copy_text`) into ``table``."""
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            copy.write(payload)
    finally:
        cursor.close()


def _processed(row: tuple[Any, ...], convert: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for index, processor in convert:
        if values[index] is not None:
            values[index] = processor(values[index])
    return tuple(values)


def update_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Update rows by id (each dict holds ``id`` and every written column; one executemany per column set)."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(row), []).append(row)
    for shape, batch in by_shape.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("_row_id"))
            .values({c: bindparam(c) for c in shape if c != "id"})
        )
        connection.execute(statement, [{**row, "_row_id": row["id"]} for row in batch])


@dataclass
class SearchTouch:
    """What an import wrote that the search extras depend on (services, and locations standing for the
    services at them). Old values of updated rows count too: a service that lost a language changed."""

    services: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)  # services at these locations are touched
    placed: set[str] = field(default_factory=set)  # locations whose point was written (spatial index)

    # Per object: (columns naming a touched service, columns naming a touched location)
    WATCHED = {
        "service": (("id",), ()),
        "service_at_location": (("service_id",), ("location_id",)),
        "cost_option": (("service_id",), ()),
        "language": (("service_id",), ("location_id",)),
        "location": ((), ("id",)),
    }

    def note_all(self, table: str, rows: list[dict[str, Any]]) -> None:
        """:meth:`note` for many rows of one object, column by column."""
        watched = self.WATCHED.get(table)
        if watched is None or table == "location":
            for values in rows:
                self.note(table, values)
            return
        for column in watched[0]:
            self.services.update(filter(None, [values.get(column) for values in rows]))
        for column in watched[1]:
            self.locations.update(filter(None, [values.get(column) for values in rows]))

    def note(self, table: str, values: Any) -> None:
        """Record the services/locations a written (new or old) row of ``table`` names."""
        if table == "attribute":
            if values.get("link_entity") == "service" and values.get("link_id"):
                self.services.add(values["link_id"])
            return
        watched = self.WATCHED.get(table)
        if watched is None:
            return
        for column in watched[0]:
            if values.get(column):
                self.services.add(values[column])
        for column in watched[1]:
            if values.get(column):
                self.locations.add(values[column])
        if table == "location":
            self.placed.add(values["id"])


_SQLITE_TRIGGERS = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"


def suspend_row_triggers(connection: Connection) -> list[str]:
    """SQLite: drop the directory's per-row triggers (in the current transaction) for a bulk write and return
    the SQL that re-creates exactly those present; PostgreSQL: nothing to do (statement triggers), ``[]``."""
    if connection.dialect.name != "sqlite":
        return []
    quoted = ", ".join("'" + n + "'" for n in ddl.sqlite_row_trigger_names())
    present = list(connection.exec_driver_sql(_SQLITE_TRIGGERS.format(names=quoted)))
    for name, _sql in present:
        connection.exec_driver_sql(f"DROP TRIGGER {name}")
    return [sql for _name, sql in present]


def bring_search_up_to_date(connection: Connection, touch: SearchTouch | None, triggers: list[str]) -> None:
    """After the writes that feed search: refresh what they touched and put suspended triggers back.

    SQLite: refresh the touched services (or everything, when most were touched) and re-create ``triggers``.
    PostgreSQL: run the deferred COMMIT-time refresh now, so it overlaps with the rest of the import instead
    of stretching the COMMIT (a later write to a watched table files a new request and is refreshed at COMMIT).
    """
    if connection.dialect.name == "sqlite":
        if triggers and touch is not None:
            _refresh_sqlite(connection, touch)
        for sql in triggers:
            connection.exec_driver_sql(sql)
        return
    if connection.scalar(text(f"SELECT to_regclass('{ddl.SEARCH_FLUSH_TABLE}') IS NOT NULL")):
        connection.exec_driver_sql("SET CONSTRAINTS hsds_search_flush_at_commit IMMEDIATE")
        connection.exec_driver_sql("SET CONSTRAINTS hsds_search_flush_at_commit DEFERRED")


class WritePipeline:
    """Runs an import's database work in order on one worker thread, inside a SAVEPOINT.

    Why: validating a feed is Python (one core) and writing it is mostly database work (PostgreSQL's own
    process, or SQLite's C code, which releases the GIL); on a two-core machine the two overlap. Only the worker
    touches the connection once the pipeline exists -- the importer's own lookups go through :meth:`call` --
    so the connection is never used from two threads at once. ``threaded=False`` runs every task at once in
    the caller's thread (same semantics; used where the driver connection is bound to its thread).

    The SAVEPOINT makes speculative writes safe: the strict importer starts writing objects whose rows all
    validated before it knows whether a later row will be refused, and :meth:`rollback` undoes them (SQLite
    trigger DDL included). After a failed task the worker rolls back at once, skips further writes and still
    answers lookups, which then see the database as it was before the import.
    """

    def __init__(self, connection: Connection, *, threaded: bool) -> None:
        self.connection = connection
        self.savepoint = connection.begin_nested()
        self.error: BaseException | None = None
        self.busy_seconds = 0.0
        self._rolled_back = False
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any] | None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="import-writer", daemon=True) if threaded else None
        if self._thread is not None:
            self._thread.start()

    def submit(self, task: Callable[[], Any]) -> None:
        """Queue a write; it is skipped once an earlier write failed or the pipeline was rolled back."""
        self._put(task, None)

    def call(self, task: Callable[[], Any]) -> Any:
        """Run a read on the worker after the queued writes and return its result (exceptions propagate)."""
        future: Future[Any] = Future()
        self._put(task, future)
        return future.result()

    def rollback(self) -> None:
        """Stop writing and undo everything written so far (queued tasks still run in order first)."""
        self.submit(self._rollback)

    def finish(self) -> None:
        """Wait for every task; release the SAVEPOINT, or raise the first write error (already rolled back)."""
        self._drain()
        if self.error is not None:
            raise self.error
        if not self._rolled_back:
            self.savepoint.commit()

    def close(self) -> None:
        """Wait for every task and roll back whatever is not released (the path of refused imports)."""
        self._drain()
        if not self._rolled_back:
            self._rollback()

    # ---- internals -------------------------------------------------------------------------------------------
    def _put(self, task: Callable[[], Any], future: Future[Any] | None) -> None:
        if self._thread is None:
            self._run(task, future)
        else:
            self._queue.put((task, future))

    def _drain(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._run(*item)

    def _run(self, task: Callable[[], Any], future: Future[Any] | None) -> None:
        if future is None and (self.error is not None or self._rolled_back):
            return
        started = time.perf_counter()
        try:
            result = task()
        except BaseException as exc:  # handed to the importer: a refused feed explains it, or finish() raises it
            if future is not None:
                future.set_exception(exc)
                return
            self.error = exc
            self._rollback()
            return
        finally:
            self.busy_seconds += time.perf_counter() - started
        if future is not None:
            future.set_result(result)

    def _rollback(self) -> None:
        if not self._rolled_back:
            self._rolled_back = True
            self.savepoint.rollback()


def _refresh_sqlite(connection: Connection, touch: SearchTouch) -> None:
    services = set(touch.services)
    locations = sorted(touch.locations)
    at_locations = text(
        f"SELECT service_id FROM hsds_service_at_location WHERE location_id IN ({_id_set_sql(connection)})"
    )
    for start in range(0, len(locations), LOOKUP_CHUNK):
        chunk = locations[start : start + LOOKUP_CHUNK]
        services.update(connection.execute(at_locations, {"ids": _ids_param(connection, chunk)}).scalars())
    ddl.reindex_locations(connection, sorted(touch.placed))
    total = connection.scalar(select(func.count()).select_from(text("hsds_service"))) or 0
    # A feed that touches most of the directory (a first import, a full re-import) is cheaper to index in
    # one set-wise rebuild than chunk by chunk.
    ddl.refresh_search_connection(connection, None if len(services) * 2 >= total else sorted(services))
