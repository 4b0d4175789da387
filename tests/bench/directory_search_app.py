"""A small Flask app around ``resource_directory.search`` for the directory bench (issue 5 acceptance).

* ``GET /search?need=&lat=&lng=&radius_km=&language=&per_page=`` — ``SearchQuery.from_params`` →
  ``search()`` → the page as JSON (ids, names, distances, reasons): the search service over HTTP with
  nothing else around it, so its latency is the search's own plus Flask and gunicorn.
* ``GET /brute?…`` (same parameters) — the brute-force baseline: one SQL statement over the plain HSDS
  tables with no spatial index and no search tables, computing haversine for **every** located
  service-at-location (need and language by ``EXISTS`` on ``hsds_attribute``/``hsds_language``), then
  nearest location per service, order, first page. What a directory without the search tables and
  bands would do; it returns the same ids in the same order.
* ``GET /healthz``.

Served by the hub's gunicorn wrapper (``referral_hub.serve.HubServer``) with the database URL in
``BENCH_DIRECTORY_DATABASE_URL``; each worker builds its own engine after the fork.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

import orjson
from flask import Flask, Response, request
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from referral_hub.serve import HubServer
from resource_directory.geocoding.points import EARTH_RADIUS_KM
from resource_directory.search import SearchError, SearchQuery, search
from resource_directory.search.page_sql import in_list, list_param, prepare_connection

DATABASE_URL_ENV = "BENCH_DIRECTORY_DATABASE_URL"

# Brute force: every located service-at-location of an active service, haversine in SQL for each row.
_BRUTE = """
SELECT service_id, location_id, distance_km FROM (
  SELECT k.*, row_number() OVER (PARTITION BY service_id ORDER BY distance_km, location_id {collate}) AS best
  FROM (
    SELECT s.id AS service_id, l.id AS location_id, {lower} AS name_key, {distance} AS distance_km
    FROM hsds_service s
    JOIN hsds_service_at_location sal ON sal.service_id = s.id
    JOIN hsds_location l ON l.id = sal.location_id
    WHERE s.status = 'active' AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL
      AND EXISTS (SELECT 1 FROM hsds_attribute a WHERE a.link_id = s.id AND a.link_entity = 'service'
                  AND {need_terms})
      AND EXISTS (SELECT 1 FROM hsds_language g WHERE (g.service_id = s.id OR g.location_id = l.id)
                  AND {languages})
  ) k WHERE distance_km <= :radius
) b WHERE best = 1
ORDER BY distance_km, name_key {collate}, service_id {collate} LIMIT :limit
"""
_NEED_TERMS = (
    "WITH RECURSIVE found(id) AS (SELECT id FROM hsds_taxonomy_term WHERE id = :need"
    " UNION SELECT t.id FROM hsds_taxonomy_term t JOIN found f ON t.parent_id = f.id) SELECT id FROM found"
)


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status=status, mimetype="application/json")


def brute_force_sql(dialect: str) -> str:
    if dialect == "postgresql":
        deg = math.radians(1.0)
        a = (
            f"power(sin((l.latitude * {deg!r} - :lat * {deg!r}) / 2), 2) + cos(:lat * {deg!r}) * cos(l.latitude *"
            f" {deg!r}) * power(sin(((l.longitude - :lon) * {deg!r}) / 2), 2)"
        )
        distance = f"{2 * EARTH_RADIUS_KM!r} * asin(least(CAST(1 AS double precision), sqrt({a})))"
        lower, collate = "translate(s.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')", 'COLLATE "C"'
    else:
        distance, lower, collate = "hsds_haversine_km(:lat, :lon, l.latitude, l.longitude)", "lower(s.name)", ""
    return _BRUTE.format(
        collate=collate,
        lower=lower,
        distance=distance,
        need_terms=in_list(dialect, "a.taxonomy_term_id", "terms"),
        languages="(lower(g.code) = :code OR lower(g.name) = :language_name)",
    )


def create_directory_app(database_url: str | None = None) -> Flask:
    engine: Engine = create_engine(database_url or os.environ[DATABASE_URL_ENV])
    app = Flask("bench_directory")
    brute = text(brute_force_sql(engine.dialect.name))

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/search")
    def run_search() -> Response:
        try:
            query = SearchQuery.from_params(request.args)
        except SearchError as error:
            return _json({"error": error.field, "message": error.message}, 400)
        with Session(engine) as session:
            page = search(session, query)
        return _json(
            {
                "total": page.total,
                "results": [
                    {
                        "service_id": r.service_id,
                        "service_name": r.service_name,
                        "organization_name": r.organization_name,
                        "location_id": r.location_id,
                        "address": r.address,
                        "distance_km": r.distance_km,
                        "languages": r.languages,
                        "phones": r.phones,
                        "hours": r.hours,
                        "matched": r.matched,
                        "freshness_days": r.freshness_days,
                    }
                    for r in page.results
                ],
            }
        )

    @app.get("/brute")
    def run_brute() -> Response:
        args = request.args
        query = SearchQuery.from_params(args)
        if query.language_info is None or not isinstance(query.near, tuple) or query.radius_km is None:
            return _json({"error": "brute force needs need, lat/lng, radius_km and language"}, 400)
        with engine.connect() as connection:
            prepare_connection(connection)
            dialect = connection.dialect.name
            terms = list(connection.execute(text(_NEED_TERMS), {"need": query.need}).scalars())
            rows = connection.execute(
                brute,
                {
                    "lat": query.near[0],
                    "lon": query.near[1],
                    "radius": query.radius_km,
                    "limit": query.per_page,
                    "terms": list_param(dialect, terms),
                    "code": query.language,
                    "language_name": query.language_info.name.lower(),
                },
            ).all()
        return _json({"results": [{"service_id": s, "location_id": loc, "distance_km": d} for s, loc, d in rows]})

    return app


class DirectoryBenchServer(HubServer):
    """The hub's gunicorn wrapper with this app in it (same config handling as ``referral-hub serve``)."""

    def load(self) -> Any:
        return create_directory_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the directory search bench app under gunicorn.")
    parser.add_argument("--port", type=int, default=5002)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    DirectoryBenchServer(
        {
            "bind": f"127.0.0.1:{args.port}",
            "workers": args.workers,
            "threads": args.threads,
            "timeout": 120,
            "accesslog": None,
            "errorlog": "-",
            "worker_class": "gthread" if args.threads > 1 else "sync",
            "preload_app": False,
        }
    ).run()


if __name__ == "__main__":
    main()
