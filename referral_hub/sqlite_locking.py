"""How the hub opens SQLite transactions: writers take the write lock at BEGIN, declared read-only requests do not.

SQLite has one writer at a time. A deferred transaction that read first and writes later fails at once with
"database is locked" if another writer got in between (SQLite cannot wait there: the busy handler is not called
for a read transaction's upgrade), so every transaction starts with ``BEGIN IMMEDIATE`` and concurrent writers
queue on the connection's ``timeout`` instead.

Taking the write lock for a read makes concurrent readers queue too: 8 connections searching the directory
through ``/hsds`` waited on each other (p99 550 ms against 56 ms for the same searches without the lock). In WAL
mode readers need no lock, so a request that only reads calls :func:`reads_only` before its first statement and
its transaction starts with a plain ``BEGIN``. If such a request writes after all (a geocoding cache row), its
read transaction, which has written nothing, is committed and an immediate one begun before the write, so the
write waits for the lock like any other instead of failing; its reads before that saw the previous snapshot, as
they would under PostgreSQL's READ COMMITTED.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g, has_app_context

_READS_ONLY = "sqlite_reads_only"  # on ``g``: this request only reads
_READING = "sqlite_read_transaction"  # on the connection's info: its transaction began deferred and wrote nothing
_READ_STATEMENTS = ("SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def reads_only() -> None:
    """Declare the current request read-only: on SQLite its transaction does not take the write lock."""
    g.setdefault(_READS_ONLY, True)


def install(app: Flask, engine: Any) -> None:
    from sqlalchemy import event

    event.listen(engine, "connect", _pragmas)
    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _before_write)
    app.teardown_request(_forget)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.

    ``isolation_level = None`` stops pysqlite from managing transactions itself (it would start them late and
    break savepoints); ``_begin`` then opens every transaction explicitly.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(connection: Any) -> None:
    deferred = has_app_context() and g.get(_READS_ONLY, False)
    connection.info[_READING] = False
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
    connection.info[_READING] = deferred


def _before_write(connection: Any, cursor: Any, statement: str, *_args: Any) -> None:
    """The first write of a deferred transaction: commit its reads and take the write lock, waiting for it."""
    if not connection.info.get(_READING) or _reads(statement):
        return
    connection.info[_READING] = False
    if connection.in_nested_transaction():
        return  # a savepoint is open and would end with the transaction: SQLite upgrades in place when it can
    cursor.execute("COMMIT")
    cursor.execute("BEGIN IMMEDIATE")


def _reads(statement: str) -> bool:
    head = statement.lstrip()[:9].upper()
    if head.startswith("WITH"):  # a CTE (the search's taxonomy walk) reads unless its last part writes
        return _WRITE_WORD.search(statement) is None
    return head.startswith(_READ_STATEMENTS)


def _forget(_error: BaseException | None) -> None:
    g.pop(_READS_ONLY, None)


__all__ = ["install", "reads_only"]
