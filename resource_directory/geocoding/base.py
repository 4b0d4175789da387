"""The geocoding contract shared by the offline geocoder, geopy providers and the chain.

Every geocoder answers one question — "where is this text?" — and says *how* it knows, because a
location geocoded to a ZIP centroid must not be presented (or sorted) as if it were rooftop-exact
(issue 5, scope 4: "each location records how it was geocoded").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Precision vocabulary stored in ``hsds_location.geocode_precision``; coarse to fine.
PRECISION_EXACT = "exact"  # coordinates given by the data or typed as "lat,lon"
PRECISION_ROOFTOP = "rooftop"
PRECISION_STREET = "street"
PRECISION_POSTCODE = "postcode"
PRECISION_LOCALITY = "locality"
PRECISION_REGION = "region"
PRECISION_UNKNOWN = "unknown"

# Source vocabulary stored in ``hsds_location.geocode_source``.
SOURCE_DATA = "data"
SOURCE_COORDINATES = "coordinates"
SOURCE_ZIP_CENTROID = "zip-centroid"
PROVIDER_SOURCE_PREFIX = "provider:"


class GeocodeInputError(ValueError):
    """Text that looks like coordinates but cannot be (e.g. latitude 123).

    Raised instead of returning ``None`` so that callers can tell "unknown place" from
    "malformed input" and report the latter to the user.
    """


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """A WGS84 point plus where it came from (``source``) and how fine it is (``precision``)."""

    lat: float
    lon: float
    source: str
    precision: str

    def __post_init__(self) -> None:
        check_coordinates(self.lat, self.lon)


@runtime_checkable
class Geocoder(Protocol):
    """Anything that turns free text (address, ZIP, "lat,lon") into a point, or ``None`` if unknown."""

    def geocode(self, query: str) -> GeocodeResult | None: ...


def check_coordinates(lat: float, lon: float) -> None:
    """Raise :class:`GeocodeInputError` unless (lat, lon) is a finite WGS84 coordinate."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise GeocodeInputError(f"coordinates must be finite numbers, got {lat!r}, {lon!r}")
    if not -90.0 <= lat <= 90.0:
        raise GeocodeInputError(f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise GeocodeInputError(f"longitude {lon} is outside -180..180")
