"""Time the hub's own directory importer on a feed: ``python -m tests.bench.hub_import PACKAGE``.

Runs ``resource_directory.importer.import_path`` -- what ``referral-hub directory import PACKAGE`` runs: the
format reader, per-row validation and report, reference checks, one transaction, the metadata change log and
the search upkeep -- inside the hub app configured by the ``REFERRAL_HUB_*`` environment (the bench's), and
prints one JSON object: counts, refusals, seconds and the importer's per-phase timings. A separate process so
the bench's own memory and threads do not colour the figure.
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import func, select


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m tests.bench.hub_import PACKAGE")
    from referral_hub import create_app
    from referral_hub.extensions import db
    from resource_directory.importer import import_path
    from resource_directory.models import ServiceAtLocation

    app = create_app()
    with app.app_context():
        started, cpu_started = time.perf_counter(), time.process_time()
        report = import_path(db.session, args[0])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        service_locations = db.session.scalar(select(func.count()).select_from(ServiceAtLocation))
        db.engine.dispose()
    print(
        json.dumps(
            {
                "written": report.written,
                "created_rows": report.total("created"),
                "refused_rows": report.refused_rows,
                "first_refusals": [str(issue) for issue in report.refused[:5]],
                "service_locations": service_locations,
                "seconds": round(seconds, 2),
                # CPU of this process (both threads; not PostgreSQL's): on a shared machine, wall time minus
                # what others took shows in the gap between the two.
                "cpu_seconds": round(cpu_seconds, 2),
                "per_second": round(service_locations / seconds) if seconds else 0,
                "timings": {phase: round(value, 2) for phase, value in report.timings.items()},
            }
        )
    )
    return 0 if report.written else 1


if __name__ == "__main__":
    raise SystemExit(main())
