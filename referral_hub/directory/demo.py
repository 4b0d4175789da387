"""A realistic demo directory (issue 5, scope 9): the Open Eligibility taxonomy, the San Mateo County sample
(Ohana CSV) and the New York City city-funded social service sites (column mapping) — all geocoded offline.

Idempotent: every object has a stable id (uuid5 per source), the importer updates by id and leaves unchanged
rows alone, and geocoding only visits locations that have no recorded source yet. A second run therefore
changes nothing and takes a few seconds (measured in README.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from resource_directory.ddl import refresh_search_index
from resource_directory.geocoding import OfflineGeocoder, geocode_pending
from resource_directory.importer import import_path
from resource_directory.report import ImportReport
from resource_directory.taxonomy import load_open_eligibility

log = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
COUNTY_SAMPLE = DEMO_DATA / "ohana-san-mateo"
NYC_MAPPING = Path(__file__).resolve().parents[2] / "resource_directory" / "mappings" / "nyc-city-funded-sites.yaml"


class DemoLoadError(RuntimeError):
    """A bundled feed was refused (a bug in the bundled data or mapping, never expected)."""


@dataclass
class DemoReport:
    """What :func:`load_demo_directory` did, for the ``referral-hub demo`` output."""

    imports: dict[str, ImportReport] = field(default_factory=dict)
    geocoded: int = 0
    not_geocoded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{name}: {report.summary()}" for name, report in self.imports.items()]
        parts.append(f"geocoded {self.geocoded} location(s) offline ({self.not_geocoded} without an address match)")
        return "; ".join(parts) + f" in {self.seconds:.1f} s"


def load_demo_directory(session: Session, *, county: bool = True, nyc: bool = True) -> DemoReport:
    """Load the demo directory into ``session`` and commit; safe to call on every start.

    :param county: load the San Mateo County Ohana sample (small: "food near 94063").
    :param nyc: load the NYC city-funded sites (about 5,400 located sites: "Spanish near a Bronx ZIP").
    :raises DemoLoadError: when a bundled feed is refused (the importer's report says why).
    """
    started = time.perf_counter()
    report = DemoReport()
    load_open_eligibility(session)
    session.commit()
    feeds: list[tuple[str, Path, str | None]] = []
    if county:
        feeds.append(("county", COUNTY_SAMPLE, "ohana"))
    if nyc:
        feeds.append(("nyc", NYC_MAPPING, "mapping"))
    for name, path, fmt in feeds:
        imported = import_path(session, path, format=fmt, updated_by=f"demo:{name}")
        if not imported.written and imported.refused:
            raise DemoLoadError(f"demo feed {name} was refused: {imported.summary()}")
        report.imports[name] = imported
        log.info("demo directory: %s", imported.summary())
    geocoded = geocode_pending(session, OfflineGeocoder())
    report.geocoded, report.not_geocoded = len(geocoded.geocoded), len(geocoded.not_found)
    changed = any(r.total("created") or r.total("updated") for r in report.imports.values())
    if changed or geocoded.geocoded:
        # Organization names feed the search documents but are not watched by triggers (resource_directory.ddl);
        # a run that changed nothing (every start after the first) skips this rebuild.
        refresh_search_index(session)
    session.commit()
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["COUNTY_SAMPLE", "NYC_MAPPING", "DemoLoadError", "DemoReport", "load_demo_directory"]
