"""The bare Flask baseline the FHIR store is measured against (issue 2, scope 8).

Three endpoints, each the least a JSON-over-HTTP service can do for the same job, on the same PostgreSQL
database, the same driver (psycopg 3 through SQLAlchemy Core, a pool per worker) and the same gunicorn settings
as ``referral-hub serve`` (the server class *is* the hub's :class:`~referral_hub.serve.HubServer`, only the app
differs):

* ``POST /rows`` — parse the JSON body, one ``INSERT … RETURNING pk`` into its own two-column table, commit,
  answer 201 with the body and its new id (what the hub's create answers too: the stored resource).
* ``GET /tasks/<pk>`` — one ``SELECT body … WHERE pk = :pk`` (primary-key index), answer the JSON body.
* ``GET /tasks?owner=…&status=…&since=…`` — one select on a composite index (owner, status, last_updated),
  newest first, at most 50 rows, answered as a JSON list.

No validation, no versions, no search index, no logging, no hooks: the ratio hub/baseline is then the price of
everything the hub does on top of "one statement per request".

Run standalone: ``python -m tests.bench.baseline_app --port 5001`` with ``BENCH_BASELINE_DATABASE_URL`` set.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask, Response, request
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from referral_hub.serve import HubServer

DATABASE_URL_ENV = "BENCH_BASELINE_DATABASE_URL"
SEARCH_LIMIT = 50

metadata = MetaData()

#: Rows written by ``POST /rows``: nothing but a key and the JSON document.
insert_table = Table(
    "bench_baseline_insert",
    metadata,
    Column("pk", BigInteger, primary_key=True, autoincrement=True),
    Column("body", JSONB, nullable=False),
)

#: The same Tasks the hub's store holds, flattened to the three columns the search filters on.
task_table = Table(
    "bench_baseline_task",
    metadata,
    Column("pk", BigInteger, primary_key=True, autoincrement=True),
    Column("resource_id", String(64), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("last_updated", DateTime, nullable=False),  # naive UTC, like the hub's store
    Column("body", JSONB, nullable=False),
    Index("ix_bench_baseline_task_owner_status_updated", "owner", "status", "last_updated"),
)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(database_url: str) -> Engine:
    """An engine like the hub's (psycopg 3, orjson for JSONB) but without ``pool_pre_ping``: bare means bare."""
    return create_engine(database_url, json_serializer=_json_dumps, json_deserializer=orjson.loads)


def create_schema(engine: Engine) -> None:
    """(Re)create the baseline tables; the bench seeds ``bench_baseline_task`` itself."""
    metadata.drop_all(engine)
    metadata.create_all(engine)


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status=status, mimetype="application/json")


def create_baseline_app(database_url: str | None = None) -> Flask:
    """The baseline app; each gunicorn worker builds its own (and its own connection pool) after the fork."""
    url = database_url or os.environ[DATABASE_URL_ENV]
    engine = make_engine(url)
    app = Flask("bench_baseline")

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/ping")
    def ping() -> Response:
        """No database: the Flask + gunicorn floor."""
        return _json({"status": "ok"})

    @app.post("/rows")
    def create_row() -> Response:
        body = orjson.loads(request.get_data())
        with engine.begin() as connection:
            pk = connection.execute(insert(insert_table).values(body=body).returning(insert_table.c.pk)).scalar_one()
        return _json({**body, "id": str(pk)}, 201)

    @app.get("/tasks/<int:pk>")
    def read_task(pk: int) -> Response:
        with engine.connect() as connection:
            body = connection.execute(select(task_table.c.body).where(task_table.c.pk == pk)).scalar_one_or_none()
        if body is None:
            return _json({"error": "not found"}, 404)
        return _json(body)

    @app.get("/tasks")
    def search_tasks() -> Response:
        since = datetime.fromisoformat(request.args["since"]).astimezone(UTC).replace(tzinfo=None)
        query = (
            select(task_table.c.body)
            .where(
                task_table.c.owner == request.args["owner"],
                task_table.c.status == request.args["status"],
                task_table.c.last_updated > since,
            )
            .order_by(task_table.c.last_updated.desc())
            .limit(SEARCH_LIMIT)
        )
        with engine.connect() as connection:
            rows = list(connection.execute(query).scalars())
        return _json(rows)

    return app


class BaselineServer(HubServer):
    """The hub's gunicorn wrapper with the baseline app in it (identical config handling)."""

    def load(self) -> Any:
        return create_baseline_app()


def gunicorn_options(host: str, port: int, workers: int, threads: int, timeout: int) -> dict[str, Any]:
    """The same options ``referral_hub.serve.serve`` passes to gunicorn (keep the two in step)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "timeout": timeout,
        "accesslog": None,
        "errorlog": "-",
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": False,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the bare Flask baseline under gunicorn.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=int, default=60)
    args = parser.parse_args(argv)
    BaselineServer(gunicorn_options(args.host, args.port, args.workers, args.threads, args.timeout)).run()


if __name__ == "__main__":
    main()
