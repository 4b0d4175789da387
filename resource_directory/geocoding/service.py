"""Geocoding of directory locations, as background jobs call it (issue 5, scope 4).

A job asks :func:`locations_needing_geocode` for ids, then calls :func:`geocode_location` per id
(or :func:`geocode_pending` for a batch). Each location records *how* it got its coordinates
(``geocode_source``, ``geocode_precision``, ``geocoded_at``), so search can tell a rooftop point
from a ZIP centroid and a later, better provider can redo only the coarse ones.
Functions flush and never commit: the job boundary commits (engineering-style G3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from resource_directory.geocoding.base import (
    PRECISION_EXACT,
    SOURCE_DATA,
    GeocodeInputError,
    Geocoder,
    check_coordinates,
)
from resource_directory.models import Address, Location

logger = logging.getLogger(__name__)

# Physical addresses say where people go; a postal address is a weaker fallback.
_ADDRESS_PREFERENCE = {"physical": 0, "postal": 1}


def _utcnow_naive() -> datetime:
    """The model stores naive UTC date-times (see resource_directory.models docstring)."""
    return datetime.now(UTC).replace(tzinfo=None)


def address_query(address: Address) -> str:
    """One-line US-style address: "1 Main St, Suite 2, Redwood City, CA 94063, US"."""
    parts = [address.address_1, address.address_2, address.city]
    state_zip = " ".join(p for p in (address.state_province, address.postal_code) if p)
    parts += [state_zip, address.country]
    return ", ".join(p.strip() for p in parts if p and p.strip())


def locations_needing_geocode(session: Session, limit: int | None = None, *, skip: int = 0) -> list[str]:
    """Ids of non-virtual locations whose geocode source is not recorded yet, in id order.

    Locations that already carry coordinates from their feed are included: geocoding them only
    records ``source="data"``, without a lookup. ``skip`` passes over the first pending ids: a batched
    run skips the ones it already tried without a match (they stay pending), so it always ends.
    """
    statement = (
        select(Location.id)
        .where(Location.geocode_source.is_(None), Location.location_type != "virtual")
        .order_by(Location.id)
    )
    if skip:
        statement = statement.offset(skip)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.execute(statement).scalars())


def geocode_location(session: Session, location_id: str, geocoder: Geocoder) -> bool:
    """Give one location coordinates and record how; True when it has coordinates afterwards.

    Coordinates already in the data win (source ``data``, precision ``exact``); otherwise the
    location's physical (then postal) addresses are tried in turn with ``geocoder``.
    """
    location = session.get(Location, location_id)
    if location is None:
        return False
    if location.latitude is not None and location.longitude is not None:
        try:
            check_coordinates(location.latitude, location.longitude)
        except GeocodeInputError:
            logger.warning("location %s has out-of-range coordinates; geocoding its address", location_id)
        else:
            if location.geocode_source is None:
                _record(location, location.latitude, location.longitude, SOURCE_DATA, PRECISION_EXACT)
                session.flush()
            return True
    if location.location_type == "virtual":
        return False
    addresses = session.execute(select(Address).where(Address.location_id == location_id)).scalars().all()
    for address in sorted(addresses, key=lambda a: (_ADDRESS_PREFERENCE.get(a.address_type, 2), a.id)):
        query = address_query(address)
        try:
            result = geocoder.geocode(query)
        except GeocodeInputError:
            continue
        if result is not None:
            _record(location, result.lat, result.lon, result.source, result.precision)
            session.flush()
            return True
    return False


def _record(location: Location, lat: float, lon: float, source: str, precision: str) -> None:
    location.latitude, location.longitude = lat, lon
    location.geocode_source, location.geocode_precision = source, precision
    location.geocoded_at = _utcnow_naive()


@dataclass(slots=True)
class GeocodeReport:
    """What a batch job did, for its log line."""

    geocoded: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def geocode_pending(session: Session, geocoder: Geocoder, limit: int | None = None, *, skip: int = 0) -> GeocodeReport:
    """Geocode every location that needs it (up to ``limit``, after the first ``skip``); the caller commits."""
    report = GeocodeReport()
    for location_id in locations_needing_geocode(session, limit, skip=skip):
        if geocode_location(session, location_id, geocoder):
            report.geocoded.append(location_id)
        else:
            report.not_found.append(location_id)
    return report
