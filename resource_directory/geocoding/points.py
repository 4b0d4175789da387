"""Points typed by people ("94063", "1 Main St, Redwood City, CA 94063", "37.48,-122.21") and distances."""

from __future__ import annotations

import math

from resource_directory.geocoding.base import Geocoder
from resource_directory.geocoding.offline import OfflineGeocoder

# Mean Earth radius (IUGG), the usual choice for haversine; the spatial prefilters widen their
# boxes so that they never cut off a point this formula puts inside the radius.
EARTH_RADIUS_KM = 6371.0088

_OFFLINE = OfflineGeocoder()


def parse_point(text: str, geocoder: Geocoder | None = None) -> tuple[float, float] | None:
    """Resolve an address, a ZIP code or "lat,lon" to ``(lat, lon)``; ``None`` when unknown.

    Uses the offline geocoder unless another is given: a patient's address typed into a search
    box should not leave the machine unless the deployment chose a provider. Malformed
    coordinates ("91,200", "1,2,3") raise ``GeocodeInputError`` rather than returning ``None``.
    """
    result = (geocoder or _OFFLINE).geocode(text)
    return (result.lat, result.lon) if result is not None else None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) containing every point within ``radius_km`` of (lat, lon).

    Slightly generous (1% + 100 m) so float rounding never drops a point on the boundary; near the
    poles or when the box would cross the antimeridian the longitude span opens to the full range.
    """
    radius = radius_km * 1.01 + 0.1
    dlat = math.degrees(radius / EARTH_RADIUS_KM)
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return min_lat, max_lat, -180.0, 180.0
    # Widest longitude span is at the latitude edge nearest a pole.
    edge = math.radians(max(abs(min_lat), abs(max_lat)))
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius / EARTH_RADIUS_KM) / math.cos(edge))))
    if lon - dlon < -180.0 or lon + dlon > 180.0:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, lon - dlon, lon + dlon
