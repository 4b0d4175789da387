"""Rows that ride along with a write, sent to the database in one statement just before commit.

A Task create writes more than the Task: its timeline row, its Provenance, its audit row, its compartment grants.
Each was its own round trip, and on PostgreSQL round trips — not work — dominated a write's latency (a Task
create took 19 statements against one for a bare insert). Hooks now *defer* such rows here, and the session's
``before_commit`` sends them all as one statement of data-modifying CTEs fed by ``jsonb_to_recordset``; SQLite
(in-process, no round trips) simply executes them in order.

Reads and searches only write their audit rows; such transactions may relax ``synchronous_commit`` (the audit rows
still commit atomically, but the commit does not wait for the WAL flush), see :func:`relax_durability`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, Numeric, Table, event, insert
from sqlalchemy.orm import Session

from referral_hub.fhir.driver_sql import pg_execute
from referral_hub.fhir.writes import JSON_OPTIONS, IndexRows, insert_version_one, json_default, resource_ctes

_ROWS = "batch.rows"
_RESOURCES = "batch.resources"
_RELAX = "batch.relax"
_WROTE = "batch.wrote_data"
_STATE = "batch.state"

#: Callables run at ``before_commit`` before the batch is sent (they may defer more rows).
_pre_flush: list[Callable[[Session], None]] = []


def before_batch_flush(fn: Callable[[Session], None]) -> Callable[[Session], None]:
    """Register ``fn(session)`` to run at commit time, before deferred rows are sent."""
    if fn not in _pre_flush:
        _pre_flush.append(fn)
    return fn


def defer_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` with the rest of the batch (at commit, or before the next read)."""
    if rows:
        session.info.setdefault(_ROWS, {}).setdefault(table, []).extend(rows)


def defer_resource(session: Session, body: dict[str, Any], last_updated: datetime, index: IndexRows) -> None:
    """Insert a new version-1 resource (e.g. a Provenance) with its version and index rows in the batch."""
    session.info.setdefault(_RESOURCES, []).append((body, last_updated, index))


def defer_state(session: Session, key: str) -> dict[Any, Any]:
    """A hook's own deferred state (a dict under ``key``), dropped with the deferred rows when their savepoint or
    transaction rolls back; a :func:`before_batch_flush` function turns it into rows (see :func:`pop_state`)."""
    return session.info.setdefault(_STATE, {}).setdefault(key, {})


def pop_state(session: Session, key: str) -> dict[Any, Any]:
    """Take the deferred state under ``key`` (empty when there is none)."""
    return session.info.get(_STATE, {}).pop(key, {})


def mark_data_written(session: Session) -> None:
    """Called by the store: this transaction changed clinical data, so its commit must stay fully durable."""
    session.info[_WROTE] = True


def relax_durability(session: Session) -> None:
    """Let this transaction's commit skip waiting for the WAL flush, unless it also wrote clinical data.

    Used for the audit rows of reads and searches: a crash in the few hundred milliseconds before the WAL writer
    flushes could lose those rows, never data; in exchange a read does not pay a disk flush.
    """
    session.info[_RELAX] = True


def autocommit_reads(session: Session) -> None:
    """Run this request's statements in autocommit mode on PostgreSQL (call before its first statement).

    For reads and searches: without it each costs BEGIN and COMMIT round trips on top of its SELECTs and its one
    audit statement. Nothing is lost: under READ COMMITTED every statement already took its own snapshot, and the
    audit rows still go in one statement, which is atomic on its own. A no-op on SQLite (in-process, no round
    trips) and once the session's transaction has begun.
    """
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def discard_pending(session: Session) -> None:
    """Forget rows deferred since the last flush (their savepoint was rolled back)."""
    session.info.pop(_ROWS, None)
    session.info.pop(_RESOURCES, None)
    session.info.pop(_STATE, None)


def has_pending(session: Session) -> bool:
    return bool(session.info.get(_ROWS) or session.info.get(_RESOURCES) or any(session.info.get(_STATE, {}).values()))


_PG_TYPES: tuple[tuple[type, str], ...] = (
    (BigInteger, "bigint"),
    (Integer, "bigint"),
    (Boolean, "boolean"),
    (Numeric, "numeric"),
    (DateTime, "timestamp"),
    (JSON, "jsonb"),
)


@functools.cache
def _pg_type(column: Any) -> str:
    column_type = column.type
    impl = getattr(column_type, "impl", column_type)
    for python_type, name in _PG_TYPES:
        if isinstance(impl, python_type) or isinstance(column_type, python_type):
            return name
    return "text"


def flush_batch(session: Session) -> None:
    """Send everything deferred in this transaction (no-op when nothing is)."""
    for fn in _pre_flush:
        fn(session)
    rows: Mapping[Table, list[dict[str, Any]]] = session.info.pop(_ROWS, {})
    resources: list[tuple[dict[str, Any], datetime, IndexRows]] = session.info.pop(_RESOURCES, [])
    relax = session.info.pop(_RELAX, False) and not session.info.get(_WROTE)
    if not rows and not resources:
        return
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        for body, last_updated, index in resources:
            insert_version_one(session, body, last_updated, "POST", index)
        for table, values in rows.items():
            session.execute(insert(table), values)
        return
    ctes: list[str] = []
    params: dict[str, Any] = {}
    for k, (body, last_updated, index) in enumerate(resources):
        ctes += resource_ctes(f"p{k}", body, last_updated, "POST", index, params)
    for m, (table, values) in enumerate(rows.items()):
        columns = sorted({name for row in values for name in row})
        spec = ", ".join(f"{name} {_pg_type(table.c[name])}" for name in columns)
        names = ", ".join(columns)
        # jsonb_to_recordset reads a key a row lacks as NULL, so the rows go as they are.
        params[f"rows{m}"] = orjson.dumps(values, default=json_default, option=JSON_OPTIONS).decode()
        ctes.append(
            f"t{m} AS (INSERT INTO {table.name} ({names}) SELECT {names} "  # noqa: S608 (names from metadata)
            f"FROM jsonb_to_recordset(CAST(%(rows{m})s AS jsonb)) AS x({spec}))"
        )
    final = "SELECT set_config('synchronous_commit', 'off', true)" if relax else "SELECT 1"
    pg_execute(session, f"WITH {', '.join(ctes)} {final}", params)


def _before_commit(session: Session) -> None:
    flush_batch(session)
    session.info.pop(_WROTE, None)


def _after_rollback(session: Session) -> None:
    for key in (_ROWS, _RESOURCES, _STATE, _RELAX, _WROTE):
        session.info.pop(key, None)


def install() -> None:
    """Attach the commit/rollback listeners to every session (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
    if not event.contains(Session, "after_soft_rollback", _after_rollback_soft):
        event.listen(Session, "after_soft_rollback", _after_rollback_soft)


def _after_rollback_soft(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction rolled back: drop what it deferred
        _after_rollback(session)
