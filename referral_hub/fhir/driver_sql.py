"""The store's fixed hot statements, sent straight to psycopg on the session's own connection (PostgreSQL only).

A Task create sends three statements (the resource with its version and index rows, the grants' body look-up,
the batch of derived rows) and a read two. Through ``Session.execute`` each cost about 0.28 ms of the hub's CPU
against 0.13 ms for the same statement on the session's psycopg connection (measured in one process, prepared
statements both ways): SQLAlchemy builds an execution context, processes parameters and result metadata for
statements whose SQL, parameters and single result shape this module already knows. That difference was about a
tenth of a Task create's CPU.

Nothing else changes: the statements run on the connection SQLAlchemy checked out for the session, inside its
transaction (or in autocommit where the request chose it), psycopg prepares them as before, and JSON columns come
back through the loader the engine registered on the connection. Errors are raised as SQLAlchemy's own
exception classes (``IntegrityError`` …), with the parameters hidden (they hold resource bodies, i.e. PHI), and a
lost connection is invalidated as SQLAlchemy would. SQL is written in psycopg's ``%(name)s`` style, or is a Core
statement :func:`fetch` compiles once for psycopg; SQLAlchemy statement events do not see these statements.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

_DIALECT = psycopg_dialect.dialect()


def pg_execute(session: Session, sql: str, params: Mapping[str, Any]) -> psycopg.Cursor[Any]:
    """Run ``sql`` with ``params`` on the session's connection and return the psycopg cursor (rows as tuples).

    :raises sqlalchemy.exc.DBAPIError: (its subclass for the driver error) when the statement fails.
    """
    connection = session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
    except psycopg.Error as exc:
        invalidated = connection.dialect.is_disconnect(exc, dbapi_connection, cursor)
        if invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            params,
            exc,
            psycopg.Error,
            hide_parameters=True,
            connection_invalidated=invalidated,
            dialect=connection.dialect,
        ) from exc
    return cursor


def fetch(session: Session, statement: Executable, params: Mapping[str, Any]) -> Any:
    """Run a fixed Core ``statement`` (no expanding parameters) and return its rows as tuples: on PostgreSQL through
    :func:`pg_execute` with the statement's SQL compiled once, elsewhere through ``Session.execute``.

    Result processing is skipped on PostgreSQL: ``timestamp`` columns come back naive (UTC).
    """
    if session.get_bind().dialect.name == "postgresql":
        return pg_execute(session, _compiled(statement), params)
    return session.execute(statement, params)


@functools.lru_cache(maxsize=64)
def _compiled(statement: Executable) -> str:
    return str(statement.compile(dialect=_DIALECT))  # type: ignore[attr-defined]


__all__ = ["fetch", "pg_execute"]
