"""Any geopy geocoder, chosen by configuration, rate limited and cached (issue 5, scope 4).

Configuration names are geopy's own service names (``nominatim``, ``arcgis``, ``googlev3``,
``photon``, ``pelias``, ``here``, …, see ``geopy.geocoders.SERVICE_TO_GEOCODER``); keyword options
go to the geopy class unchanged (``user_agent``, ``api_key``, ``domain``, ``timeout``, …), so a
deployment switches provider without code. Calls go through
``geopy.extra.rate_limiter.RateLimiter`` because public providers ban clients that exceed their
usage policy (Nominatim: at most one request per second).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders.base import Geocoder as GeopyBaseGeocoder
from geopy.location import Location
from sqlalchemy.orm import Session

from resource_directory.geocoding.base import (
    PRECISION_LOCALITY,
    PRECISION_POSTCODE,
    PRECISION_REGION,
    PRECISION_ROOFTOP,
    PRECISION_STREET,
    PRECISION_UNKNOWN,
    PROVIDER_SOURCE_PREFIX,
    GeocodeResult,
)
from resource_directory.geocoding.cache import cache_lookup, cache_store

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "referral-hub-directory"

# Provider-specific "how exact is this hit" vocabularies mapped onto ours.
_NOMINATIM_TYPES = {
    "house": PRECISION_ROOFTOP,
    "building": PRECISION_ROOFTOP,
    "amenity": PRECISION_ROOFTOP,
    "road": PRECISION_STREET,
    "street": PRECISION_STREET,
    "postcode": PRECISION_POSTCODE,
    "suburb": PRECISION_LOCALITY,
    "neighbourhood": PRECISION_LOCALITY,
    "village": PRECISION_LOCALITY,
    "town": PRECISION_LOCALITY,
    "city": PRECISION_LOCALITY,
    "county": PRECISION_REGION,
    "state": PRECISION_REGION,
}
_GOOGLE_TYPES = {
    "ROOFTOP": PRECISION_ROOFTOP,
    "RANGE_INTERPOLATED": PRECISION_STREET,
    "GEOMETRIC_CENTER": PRECISION_LOCALITY,
    "APPROXIMATE": PRECISION_LOCALITY,
}
_ARCGIS_TYPES = {
    "PointAddress": PRECISION_ROOFTOP,
    "Subaddress": PRECISION_ROOFTOP,
    "StreetAddress": PRECISION_STREET,
    "StreetName": PRECISION_STREET,
    "Postal": PRECISION_POSTCODE,
    "PostalExt": PRECISION_POSTCODE,
    "Locality": PRECISION_LOCALITY,
}


def precision_from_raw(raw: Mapping[str, Any] | None) -> str:
    """Best-effort precision from a provider's raw answer; ``unknown`` when it does not say."""
    if not isinstance(raw, Mapping):
        return PRECISION_UNKNOWN
    for key in ("addresstype", "type"):  # Nominatim / Photon style
        value = raw.get(key)
        if isinstance(value, str) and value in _NOMINATIM_TYPES:
            return _NOMINATIM_TYPES[value]
    geometry = raw.get("geometry")
    if isinstance(geometry, Mapping) and geometry.get("location_type") in _GOOGLE_TYPES:
        return _GOOGLE_TYPES[geometry["location_type"]]
    attributes = raw.get("attributes")
    if isinstance(attributes, Mapping) and attributes.get("Addr_type") in _ARCGIS_TYPES:
        return _ARCGIS_TYPES[attributes["Addr_type"]]
    return PRECISION_UNKNOWN


class GeopyGeocoder:
    """Geocode through a geopy provider, with rate limiting and the ``geocode_cache`` table.

    ``session`` enables the persistent cache (recommended for jobs); without it every call asks
    the provider. ``geocoder`` injects an already built geopy geocoder (same interface), e.g. a
    self-hosted Nominatim client built elsewhere; otherwise ``service`` + ``options`` build one.
    Transient provider errors (timeouts, quota) return ``None`` and are *not* cached, so a later
    job retries them.
    """

    def __init__(
        self,
        service: str,
        *,
        session: Session | None = None,
        min_delay_seconds: float = 1.0,
        max_retries: int = 2,
        error_wait_seconds: float = 5.0,
        geocoder: GeopyBaseGeocoder | None = None,
        **options: Any,
    ) -> None:
        self.service = service.lower()
        self.source = PROVIDER_SOURCE_PREFIX + self.service
        self.session = session
        if geocoder is None:
            geocoder_class = get_geocoder_for_service(self.service)  # raises GeocoderNotFound
            options.setdefault("user_agent", DEFAULT_USER_AGENT)
            geocoder = geocoder_class(**options)
        self.geopy_geocoder = geocoder
        self._rate_limited = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            error_wait_seconds=error_wait_seconds,
            swallow_exceptions=False,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, session: Session | None = None) -> GeopyGeocoder:
        """Build from a mapping such as ``{"provider": "nominatim", "options": {"user_agent": "x"},
        "min_delay_seconds": 1}`` (the shape of the hub's ``DIRECTORY_GEOCODER`` setting)."""
        known = {"min_delay_seconds", "max_retries", "error_wait_seconds"}
        limits = {key: config[key] for key in known if key in config}
        return cls(str(config["provider"]), session=session, **limits, **dict(config.get("options") or {}))

    def geocode(self, query: str) -> GeocodeResult | None:
        text = query.strip()
        if not text:
            return None
        if self.session is not None:
            cached = cache_lookup(self.session, self.service, text)
            if cached is not None:
                if cached.latitude is None or cached.longitude is None:
                    return None
                return GeocodeResult(
                    cached.latitude, cached.longitude, self.source, cached.precision or PRECISION_UNKNOWN
                )
        try:
            location = self._rate_limited(text, exactly_one=True)
        except GeopyError as error:
            logger.warning("geocoding provider %s failed: %s", self.service, type(error).__name__)
            return None
        if isinstance(location, list):  # a provider ignoring exactly_one
            location = location[0] if location else None
        result = None
        if isinstance(location, Location):
            result = GeocodeResult(location.latitude, location.longitude, self.source, precision_from_raw(location.raw))
        if self.session is not None:
            cache_store(
                self.session,
                self.service,
                text,
                latitude=result.lat if result else None,
                longitude=result.lon if result else None,
                precision=result.precision if result else None,
                display_address=location.address if isinstance(location, Location) else None,
            )
        return result

    def __repr__(self) -> str:
        return f"GeopyGeocoder({self.service!r})"
