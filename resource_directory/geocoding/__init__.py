"""Offline-first geocoding for the resource directory (issue 5, scope 4).

Typical use::

    geocoder = build_geocoder(settings.get("DIRECTORY_GEOCODER"), session=session)  # offline by default
    for location_id in locations_needing_geocode(session):
        geocode_location(session, location_id, geocoder)
    session.commit()

    parse_point("94063")  # -> (37.4815, -122.2091), the ZIP centroid
"""

from resource_directory.geocoding.base import (
    GeocodeInputError,
    Geocoder,
    GeocodeResult,
)
from resource_directory.geocoding.chain import ChainGeocoder, build_geocoder
from resource_directory.geocoding.offline import OfflineGeocoder, parse_coordinates, zip_info
from resource_directory.geocoding.points import bounding_box, haversine_km, parse_point
from resource_directory.geocoding.service import (
    GeocodeReport,
    address_query,
    geocode_location,
    geocode_pending,
    locations_needing_geocode,
)

__all__ = [
    "ChainGeocoder",
    "GeocodeInputError",
    "GeocodeReport",
    "GeocodeResult",
    "Geocoder",
    "OfflineGeocoder",
    "address_query",
    "bounding_box",
    "build_geocoder",
    "geocode_location",
    "geocode_pending",
    "haversine_km",
    "locations_needing_geocode",
    "parse_coordinates",
    "parse_point",
    "zip_info",
]
