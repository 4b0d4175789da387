"""Low-level writes of a resource version with its version row and index rows.

On PostgreSQL the current row, the version row and every index row go to the server as ONE statement
(data-modifying CTEs fed by ``jsonb_to_recordset``): a Task create used to cost eight round trips here, and round
trips, not work, dominated its latency. Those statements go to psycopg directly (``driver_sql``: SQLAlchemy's
execution machinery cost as much CPU as the statement itself), so their SQL uses psycopg's ``%(name)s``
placeholders. SQLite runs in-process, so it keeps plain SQLAlchemy statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from referral_hub.fhir.driver_sql import pg_execute
from referral_hub.fhir.models import (
    DateIndex,
    FhirResource,
    FhirResourceVersion,
    NumberIndex,
    ReferenceIndex,
    StringIndex,
    TokenIndex,
    UriIndex,
)

IndexRows = Mapping[type, Sequence[dict[str, Any]]]

INDEX_TABLES = (TokenIndex, ReferenceIndex, DateIndex, StringIndex, NumberIndex, UriIndex)

#: Per index table: its columns and their PostgreSQL types as ``jsonb_to_recordset`` reads them.
_PG_COLUMNS: dict[type, tuple[tuple[str, str], ...]] = {
    TokenIndex: (("param", "text"), ("system", "text"), ("code", "text")),
    ReferenceIndex: (("param", "text"), ("target_type", "text"), ("target_id", "text"), ("url", "text")),
    DateIndex: (("param", "text"), ("low", "timestamp"), ("high", "timestamp")),
    StringIndex: (("param", "text"), ("value", "text"), ("exact", "text")),
    NumberIndex: (("param", "text"), ("value", "numeric"), ("system", "text"), ("code", "text")),
    UriIndex: (("param", "text"), ("value", "text")),
}


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


#: orjson options for the JSON the write statements send: datetimes go through :func:`json_default`.
JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def json_default(value: Any) -> Any:
    """orjson's hook for what it does not write as PostgreSQL reads it: datetimes become naive UTC (``timestamp``
    columns would ignore an offset), Decimals strings."""
    if isinstance(value, datetime):
        return (_naive_utc(value) if value.tzinfo else value).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _index_ctes(rows: IndexRows, params: dict[str, Any], source: str, type_param: str = "resource_type") -> list[str]:
    ctes = []
    for n, table in enumerate(INDEX_TABLES):
        values = rows.get(table) or ()
        if not values:
            continue
        columns = _PG_COLUMNS[table]
        names = ", ".join(name for name, _ in columns)
        spec = ", ".join(f"{name} {kind}" for name, kind in columns)
        key = f"{source}_idx{n}"
        params[key] = orjson.dumps(
            [{name: row.get(name) for name, _ in columns} for row in values], default=json_default, option=JSON_OPTIONS
        ).decode()
        ctes.append(
            f"{source}i{n} AS (INSERT INTO {table.__tablename__} (resource_pk, resource_type, {names}) "  # noqa: S608
            f"SELECT {source}.pk, %({type_param})s, {names} FROM {source} "
            f"CROSS JOIN jsonb_to_recordset(CAST(%({key})s AS jsonb)) AS x({spec}))"
        )
    return ctes


def resource_ctes(
    alias: str, body: dict[str, Any], last_updated: datetime, method: str, rows: IndexRows, params: dict[str, Any]
) -> list[str]:
    """CTEs inserting a version-1 resource as ``alias`` (exposing ``pk``), its version row and its index rows.

    Parameter names are prefixed with ``alias`` so several resources can share one statement.
    """
    params.update(
        {
            f"{alias}_type": body["resourceType"],
            f"{alias}_id": body["id"],
            f"{alias}_updated": _naive_utc(last_updated),
            f"{alias}_method": method,
            f"{alias}_body": orjson.dumps(body).decode(),
        }
    )
    # Only the alias (chosen by this module) is spliced in; every value is a bound parameter.
    current = (
        f"{alias} AS (INSERT INTO fhir_resource (resource_type, resource_id, version_id, last_updated, body) "  # noqa: S608
        f"VALUES (%({alias}_type)s, %({alias}_id)s, 1, %({alias}_updated)s, CAST(%({alias}_body)s AS jsonb)) "
        "RETURNING pk, body)"
    )
    version = (
        f"{alias}v AS (INSERT INTO fhir_resource_version "  # noqa: S608
        "(resource_pk, resource_type, resource_id, version_id, last_updated, method, body) "
        f"SELECT pk, %({alias}_type)s, %({alias}_id)s, 1, %({alias}_updated)s, %({alias}_method)s, body FROM {alias})"
    )
    return [current, version, *_index_ctes(rows, params, alias, f"{alias}_type")]


def insert_version_one(
    session: Session, body: dict[str, Any], last_updated: datetime, method: str, rows: IndexRows
) -> int:
    """Insert a new resource (version 1), its version row and ``rows`` (index rows without pk/type); return pk."""
    resource_type, resource_id = body["resourceType"], body["id"]
    if not _is_postgres(session):
        pk = session.execute(
            insert(FhirResource.__table__)
            .values(
                resource_type=resource_type, resource_id=resource_id, version_id=1, last_updated=last_updated, body=body
            )
            .returning(FhirResource.__table__.c.pk)
        ).scalar_one()
        _plain_version_and_index(session, pk, body, 1, last_updated, method, rows, replace=False)
        return int(pk)
    params: dict[str, Any] = {}
    ctes = resource_ctes("r", body, last_updated, method, rows, params)
    row = _run_ctes(session, ctes, params).fetchone()
    return int(row[0])


def insert_many_version_one(
    session: Session, items: Sequence[tuple[dict[str, Any], datetime, str, IndexRows]]
) -> list[int]:
    """:func:`insert_version_one` for several resources in one statement on PostgreSQL; pks in input order."""
    if not items:
        return []
    if len(items) == 1:
        return [insert_version_one(session, *items[0])]
    if not _is_postgres(session):
        return _plain_insert_many(session, items)
    params: dict[str, Any] = {
        "resources": orjson.dumps(
            [
                {
                    "k": k,
                    "resource_type": body["resourceType"],
                    "resource_id": body["id"],
                    "last_updated": _naive_utc(last_updated),
                    "method": method,
                    "body": body,
                }
                for k, (body, last_updated, method, _rows) in enumerate(items)
            ],
            default=json_default,
            option=JSON_OPTIONS,
        ).decode()
    }
    for n, table in enumerate(INDEX_TABLES):
        columns = _PG_COLUMNS[table]
        params[f"idx{n}"] = orjson.dumps(
            [
                {"rid": body["id"], "rtype": body["resourceType"], **{name: row.get(name) for name, _ in columns}}
                for body, _updated, _method, rows in items
                for row in rows.get(table) or ()
            ],
            default=json_default,
            option=JSON_OPTIONS,
        ).decode()
    found = dict(pg_execute(session, _MANY_STATEMENT, params).fetchall())
    return [int(found[k]) for k in range(len(items))]


def _many_statement() -> str:
    """One constant statement for any number of resources: psycopg prepares it once per connection and PostgreSQL
    reuses the plan. (A statement built per call — one CTE group per resource — had to be planned afresh every time:
    38 ms of a screening response's 17-resource write went to planning.)"""
    index_ctes = []
    for n, table in enumerate(INDEX_TABLES):
        columns = _PG_COLUMNS[table]
        names = ", ".join(name for name, _ in columns)
        spec = ", ".join(f"{name} {kind}" for name, kind in columns)
        index_ctes.append(
            f"i{n} AS (INSERT INTO {table.__tablename__} (resource_pk, resource_type, {names}) "  # noqa: S608
            f"SELECT r.pk, r.resource_type, {', '.join(f'x.{name}' for name, _ in columns)} FROM r "
            f"JOIN jsonb_to_recordset(CAST(%(idx{n})s AS jsonb)) AS x(rtype text, rid text, {spec}) "
            "ON x.rtype = r.resource_type AND x.rid = r.resource_id)"
        )
    joined = "FROM r JOIN src ON src.resource_type = r.resource_type AND src.resource_id = r.resource_id"
    # Only table and column names from this module are spliced in; every value is a bound parameter.
    sql = (
        "WITH src AS (SELECT * FROM jsonb_to_recordset(CAST(%(resources)s AS jsonb)) AS s(k int, resource_type text, "  # noqa: S608
        "resource_id text, last_updated timestamp, method text, body jsonb)), "
        "r AS (INSERT INTO fhir_resource (resource_type, resource_id, version_id, last_updated, body) "
        "SELECT resource_type, resource_id, 1, last_updated, body FROM src ORDER BY k "
        "RETURNING pk, resource_type, resource_id, last_updated, body), "
        "v AS (INSERT INTO fhir_resource_version "
        "(resource_pk, resource_type, resource_id, version_id, last_updated, method, body) "
        "SELECT r.pk, r.resource_type, r.resource_id, 1, r.last_updated, src.method, r.body "
        f"{joined}), "
    )
    return sql + ", ".join(index_ctes) + f" SELECT src.k, r.pk {joined}"


_MANY_STATEMENT = _many_statement()


def _plain_insert_many(session: Session, items: Sequence[tuple[dict[str, Any], datetime, str, IndexRows]]) -> list[int]:
    """SQLite: one multi-row INSERT … RETURNING for the current rows, then one executemany per table (a directory
    projection of 9,000 resources went from 44,000 statements to a few dozen)."""
    current = FhirResource.__table__
    returned = session.execute(
        insert(current).returning(current.c.pk, sort_by_parameter_order=True),
        [
            {
                "resource_type": body["resourceType"],
                "resource_id": body["id"],
                "version_id": 1,
                "last_updated": last_updated,
                "body": body,
            }
            for body, last_updated, _method, _rows in items
        ],
    )
    pks = [int(pk) for pk in returned.scalars()]
    versions = [
        {
            "resource_pk": pk,
            "resource_type": body["resourceType"],
            "resource_id": body["id"],
            "version_id": 1,
            "last_updated": last_updated,
            "method": method,
            "body": body,
        }
        for pk, (body, last_updated, method, _rows) in zip(pks, items, strict=True)
    ]
    session.execute(insert(FhirResourceVersion.__table__), versions)
    for table in INDEX_TABLES:
        values = [
            {**row, "resource_pk": pk, "resource_type": body["resourceType"]}
            for pk, (body, _updated, _method, rows) in zip(pks, items, strict=True)
            for row in rows.get(table) or ()
        ]
        if values:
            session.execute(insert(table.__table__), values)
    return pks


def replace_version(
    session: Session,
    pk: int,
    old_version: int,
    body: dict[str, Any],
    last_updated: datetime,
    rows: IndexRows,
) -> bool:
    """Compare-and-set the current row from ``old_version`` to ``old_version + 1``, add the version row and
    replace the index rows. False (and nothing written) when another writer got there first."""
    new_version = old_version + 1
    if not _is_postgres(session):
        result = session.execute(
            update(FhirResource.__table__)
            .where(FhirResource.__table__.c.pk == pk, FhirResource.__table__.c.version_id == old_version)
            .values(version_id=new_version, last_updated=last_updated, body=body)
        )
        if result.rowcount != 1:
            return False
        _plain_version_and_index(session, pk, body, new_version, last_updated, "PUT", rows, replace=True)
        return True
    params: dict[str, Any] = {
        "pk": pk,
        "old_version": old_version,
        "new_version": new_version,
        "resource_type": body["resourceType"],
        "resource_id": body["id"],
        "last_updated": _naive_utc(last_updated),
        "body": orjson.dumps(body).decode(),
    }
    ctes = [
        "r AS (UPDATE fhir_resource SET version_id = %(new_version)s, last_updated = %(last_updated)s, "
        "body = CAST(%(body)s AS jsonb) WHERE pk = %(pk)s AND version_id = %(old_version)s RETURNING pk, body)",
        "v AS (INSERT INTO fhir_resource_version "
        "(resource_pk, resource_type, resource_id, version_id, last_updated, method, body) "
        "SELECT pk, %(resource_type)s, %(resource_id)s, %(new_version)s, %(last_updated)s, 'PUT', body FROM r)",
        # Deletes see the rows as they were when the statement started, so they never touch the new rows below.
        *[_delete_cte(n, table) for n, table in enumerate(INDEX_TABLES)],
        *_index_ctes(rows, params, "r"),
    ]
    return _run_ctes(session, ctes, params).fetchone() is not None


def _delete_cte(n: int, table: type) -> str:
    return f"d{n} AS (DELETE FROM {table.__tablename__} WHERE resource_pk IN (SELECT pk FROM r))"  # noqa: S608


def _run_ctes(session: Session, ctes: list[str], params: dict[str, Any]) -> Any:
    # Only table and column names from this module are spliced in; every value is a bound parameter.
    return pg_execute(session, f"WITH {', '.join(ctes)} SELECT pk FROM r", params)  # noqa: S608


def _plain_version_and_index(
    session: Session,
    pk: int,
    body: dict[str, Any],
    version_id: int,
    last_updated: datetime,
    method: str,
    rows: IndexRows,
    *,
    replace: bool,
) -> None:
    resource_type = body["resourceType"]
    session.execute(
        insert(FhirResourceVersion.__table__).values(
            resource_pk=pk,
            resource_type=resource_type,
            resource_id=body["id"],
            version_id=version_id,
            last_updated=last_updated,
            method=method,
            body=body,
        )
    )
    if replace:
        for table in INDEX_TABLES:
            session.execute(delete(table.__table__).where(table.__table__.c.resource_pk == pk))
    for table in INDEX_TABLES:
        values = rows.get(table) or ()
        if values:
            session.execute(
                insert(table.__table__), [{**row, "resource_pk": pk, "resource_type": resource_type} for row in values]
            )
