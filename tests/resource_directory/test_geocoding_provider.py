"""Geopy providers by configuration, rate limiting, the geocode_cache table, the chain and location jobs.

The remote geocoding service is the one thing we cannot reach in tests (no network), so a small geopy
``Geocoder`` subclass stands in for it; everything on our side (RateLimiter, cache table, chain, job
functions, database) is real.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from geopy.exc import GeocoderNotFound, GeocoderTimedOut
from geopy.geocoders import Nominatim
from geopy.geocoders.base import Geocoder as GeopyGeocoderBase
from geopy.location import Location as GeopyLocation
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resource_directory.geocoding import (
    ChainGeocoder,
    OfflineGeocoder,
    build_geocoder,
    geocode_location,
    geocode_pending,
    locations_needing_geocode,
)
from resource_directory.geocoding.cache import GeocodeCacheEntry
from resource_directory.geocoding.geopy_provider import GeopyGeocoder, precision_from_raw
from resource_directory.models import Address, Location
from tests.resource_directory.fixtures_search import new_id

KNOWN = {
    "1 main st, redwood city, ca": (37.4857, -122.2364, {"addresstype": "house"}),
    "city hall, springfield": (39.8017, -89.6436, {"addresstype": "building"}),
}


class RecordingProvider(GeopyGeocoderBase):
    """Answers from a dict like a remote service would, and records every call it receives."""

    def __init__(self) -> None:
        super().__init__(user_agent="tests")
        self.calls: list[tuple[str, float]] = []

    def geocode(self, query: str, *, exactly_one: bool = True, **_: Any) -> GeopyLocation | None:
        self.calls.append((query, time.monotonic()))
        if "timeout" in query:
            raise GeocoderTimedOut("slow provider")
        hit = KNOWN.get(query.lower())
        if hit is None:
            return None
        return GeopyLocation(query, (hit[0], hit[1]), hit[2])


def test_any_geopy_provider_is_built_from_its_configuration_name() -> None:
    geocoder = GeopyGeocoder.from_config(
        {"provider": "nominatim", "options": {"user_agent": "hub-test", "domain": "nominatim.example.org"}}
    )
    assert isinstance(geocoder.geopy_geocoder, Nominatim)
    assert geocoder.geopy_geocoder.domain == "nominatim.example.org"
    assert geocoder.geopy_geocoder.headers["User-Agent"] == "hub-test"
    assert geocoder.source == "provider:nominatim"


def test_unknown_provider_name_is_refused() -> None:
    with pytest.raises(GeocoderNotFound):
        GeopyGeocoder("no-such-provider")


def test_offline_is_the_default_geocoder() -> None:
    assert isinstance(build_geocoder(None), OfflineGeocoder)
    chained = build_geocoder({"provider": "nominatim", "options": {"user_agent": "hub-test"}})
    assert isinstance(chained, ChainGeocoder)
    assert isinstance(chained.geocoders[0], OfflineGeocoder)


def test_rate_limiter_spaces_out_provider_calls() -> None:
    provider = RecordingProvider()
    geocoder = GeopyGeocoder("nominatim", geocoder=provider, min_delay_seconds=0.2)
    geocoder.geocode("1 Main St, Redwood City, CA")
    geocoder.geocode("City Hall, Springfield")
    assert provider.calls[1][1] - provider.calls[0][1] >= 0.19


def test_precision_is_read_from_provider_answers() -> None:
    assert precision_from_raw({"addresstype": "house"}) == "rooftop"
    assert precision_from_raw({"geometry": {"location_type": "RANGE_INTERPOLATED"}}) == "street"
    assert precision_from_raw({"attributes": {"Addr_type": "Postal"}}) == "postcode"
    assert precision_from_raw({"something": "else"}) == "unknown"


def test_cache_answers_repeat_queries_including_not_found(session: Session) -> None:
    provider = RecordingProvider()
    geocoder = GeopyGeocoder("nominatim", geocoder=provider, session=session, min_delay_seconds=0)
    first = geocoder.geocode("1 Main St, Redwood City, CA")
    again = geocoder.geocode("  1 MAIN st,  Redwood City, CA ")  # same address, other spelling
    assert first == again
    assert first is not None
    assert (first.source, first.precision) == ("provider:nominatim", "rooftop")
    assert geocoder.geocode("Nowhere Lane") is None
    assert geocoder.geocode("nowhere lane") is None
    assert len(provider.calls) == 2
    session.commit()
    stored = session.execute(select(GeocodeCacheEntry).order_by(GeocodeCacheEntry.id)).scalars().all()
    assert [(e.query_text, e.latitude) for e in stored] == [
        ("1 main st, redwood city, ca", 37.4857),
        ("nowhere lane", None),
    ]


def test_transient_provider_errors_are_not_cached(session: Session) -> None:
    provider = RecordingProvider()
    geocoder = GeopyGeocoder("nominatim", geocoder=provider, session=session, min_delay_seconds=0, max_retries=0)
    assert geocoder.geocode("timeout street") is None
    assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 0


def test_chain_asks_the_provider_only_when_offline_cannot_answer() -> None:
    provider = RecordingProvider()
    chain = ChainGeocoder(OfflineGeocoder(), GeopyGeocoder("nominatim", geocoder=provider, min_delay_seconds=0))
    zip_hit = chain.geocode("94063")
    assert zip_hit is not None
    assert zip_hit.source == "zip-centroid"
    street = chain.geocode("1 Main St, Redwood City, CA")
    assert street is not None
    assert street.source == "provider:nominatim"
    assert [query for query, _ in provider.calls] == ["1 Main St, Redwood City, CA"]


def test_chain_can_prefer_the_provider_for_street_addresses() -> None:
    provider = RecordingProvider()
    chain = ChainGeocoder(
        OfflineGeocoder(),
        GeopyGeocoder("nominatim", geocoder=provider, min_delay_seconds=0),
        prefer_provider_for_addresses=True,
    )
    rooftop = chain.geocode("City Hall, Springfield")
    assert rooftop is not None
    assert rooftop.precision == "rooftop"
    fallback = chain.geocode("Unknown Rd, Redwood City, CA 94063")  # provider misses: keep the centroid
    assert fallback is not None
    assert fallback.source == "zip-centroid"


def _location(
    session: Session,
    *,
    lat: float | None = None,
    lon: float | None = None,
    zip_code: str | None = None,
    location_type: str = "physical",
) -> str:
    location = Location(id=new_id(), location_type=location_type, latitude=lat, longitude=lon)
    session.add(location)
    session.flush()
    if zip_code:
        session.add(
            Address(
                id=new_id(),
                location_id=location.id,
                address_1="2600 Middlefield Rd",
                city="Redwood City",
                state_province="CA",
                postal_code=zip_code,
                country="US",
                address_type="physical",
            )
        )
        session.flush()
    return location.id


def test_location_jobs_record_how_each_location_was_geocoded(session: Session) -> None:
    with_data = _location(session, lat=37.48, lon=-122.23)
    with_zip = _location(session, zip_code="94063")
    without_anything = _location(session)
    virtual = _location(session, location_type="virtual")
    pending = locations_needing_geocode(session)
    assert set(pending) == {with_data, with_zip, without_anything}
    assert virtual not in pending

    report = geocode_pending(session, OfflineGeocoder())
    session.commit()
    assert set(report.geocoded) == {with_data, with_zip}
    assert report.not_found == [without_anything]
    data_row = session.get(Location, with_data)
    zip_row = session.get(Location, with_zip)
    assert data_row is not None
    assert zip_row is not None
    assert (data_row.geocode_source, data_row.geocode_precision, data_row.latitude) == ("data", "exact", 37.48)
    assert (zip_row.geocode_source, zip_row.geocode_precision) == ("zip-centroid", "postcode")
    assert (zip_row.latitude, zip_row.longitude) == (37.4815, -122.2091)
    assert zip_row.geocoded_at is not None
    assert locations_needing_geocode(session) == [without_anything]


def test_geocode_location_of_unknown_id_is_false(session: Session) -> None:
    assert geocode_location(session, new_id(), OfflineGeocoder()) is False
