"""Offline first, then a provider: the order that keeps most lookups free, fast and private.

An address with a ZIP already gets a usable centroid offline; only when a finer answer is wanted
(``prefer_provider_for_addresses``) or nothing offline matches is the (rate-limited, cached)
provider asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from resource_directory.geocoding.base import PRECISION_POSTCODE, Geocoder, GeocodeResult
from resource_directory.geocoding.offline import OfflineGeocoder, parse_coordinates, zip_info


class ChainGeocoder:
    """Ask each geocoder in turn and return the first answer.

    With ``prefer_provider_for_addresses`` a street address (not a bare ZIP and not coordinates)
    whose offline answer is only a ZIP centroid is first tried on the later geocoders, and the
    centroid is kept as the fallback when they find nothing.
    """

    def __init__(self, *geocoders: Geocoder, prefer_provider_for_addresses: bool = False) -> None:
        if not geocoders:
            raise ValueError("ChainGeocoder needs at least one geocoder")
        self.geocoders = geocoders
        self.prefer_provider_for_addresses = prefer_provider_for_addresses

    def geocode(self, query: str) -> GeocodeResult | None:
        fallback: GeocodeResult | None = None
        is_street_address = parse_coordinates(query) is None and zip_info(query) is None
        for geocoder in self.geocoders:
            result = geocoder.geocode(query)
            if result is None:
                continue
            coarse = result.precision == PRECISION_POSTCODE and is_street_address
            if self.prefer_provider_for_addresses and coarse and geocoder is not self.geocoders[-1]:
                fallback = fallback or result
                continue
            return result
        return fallback

    def __repr__(self) -> str:
        return f"ChainGeocoder({', '.join(map(repr, self.geocoders))})"


def build_geocoder(config: Mapping[str, Any] | None = None, *, session: Session | None = None) -> Geocoder:
    """The geocoder a deployment configured: offline only (default) or offline then a geopy provider.

    ``config`` is ``None`` / ``{}`` for offline only, or the provider mapping accepted by
    :meth:`GeopyGeocoder.from_config` plus an optional ``prefer_provider_for_addresses`` flag.
    """
    offline = OfflineGeocoder()
    if not config or not config.get("provider"):
        return offline
    from resource_directory.geocoding.geopy_provider import GeopyGeocoder

    provider = GeopyGeocoder.from_config(config, session=session)
    return ChainGeocoder(
        offline, provider, prefer_provider_for_addresses=bool(config.get("prefer_provider_for_addresses"))
    )
