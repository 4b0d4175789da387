"""Time the hub's own directory importer on a feed: ``python -m tests.bench.hub_import PACKAGE [--profile FILE]``.

Runs ``resource_directory.importer.import_path`` -- what ``referral-hub directory import PACKAGE`` runs: the
format reader, per-row validation and report, reference checks, one transaction, the metadata change log and
the search upkeep -- inside the hub app configured by the ``REFERRAL_HUB_*`` environment (the bench's), and
prints one JSON object: counts, refusals, seconds and the importer's per-phase timings. A separate process so
the bench's own memory and threads do not colour the figure.

On PostgreSQL it also reports the CPU seconds of the import's server backend (``/proc/<pid>/stat`` of
``pg_backend_pid()``, when the server runs on this machine): with the importer's own CPU, the cost of an import
on a shared machine, which wall time is not. ``--profile FILE`` writes a cProfile of ``import_path`` alone.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from sqlalchemy import func, select, text


def backend_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a local process (a PostgreSQL backend), or None when unreadable."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--profile", help="write a cProfile of import_path to this file")
    args = parser.parse_args(argv)
    from referral_hub import create_app
    from referral_hub.extensions import db
    from resource_directory.importer import import_path
    from resource_directory.models import ServiceAtLocation

    app = create_app()
    with app.app_context():
        # The import runs on the session's connection (one transaction): its backend is this one.
        backend = db.session.scalar(text("SELECT pg_backend_pid()")) if db.engine.dialect.name == "postgresql" else None
        server_started = backend_cpu_seconds(backend)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu_started = time.perf_counter(), time.process_time()
        report = import_path(db.session, args.package)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        server_finished = backend_cpu_seconds(backend)
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
                "server_cpu_seconds": (
                    None
                    if server_started is None or server_finished is None
                    else round(server_finished - server_started, 2)
                ),
                "per_second": round(service_locations / seconds) if seconds else 0,
                "timings": {phase: round(value, 2) for phase, value in report.timings.items()},
            }
        )
    )
    return 0 if report.written else 1


if __name__ == "__main__":
    raise SystemExit(main())
