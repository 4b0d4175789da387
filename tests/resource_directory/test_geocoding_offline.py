"""Offline geocoding: ZIP centroids from the zipcodes package and typed coordinates, no network."""

from __future__ import annotations

import pytest

from resource_directory.geocoding import GeocodeInputError, OfflineGeocoder, parse_point, zip_info
from resource_directory.geocoding.offline import find_zip, nearest_zip
from resource_directory.geocoding.points import bounding_box, haversine_km

REDWOOD_CITY = (37.4815, -122.2091)  # zipcodes' centroid of 94063


def test_zip_code_resolves_to_its_centroid_with_postcode_precision() -> None:
    result = OfflineGeocoder().geocode("94063")
    assert result is not None
    assert (result.lat, result.lon) == REDWOOD_CITY
    assert (result.source, result.precision) == ("zip-centroid", "postcode")


def test_zip_plus_four_and_address_with_zip_use_the_zip() -> None:
    assert parse_point("94063-1234") == REDWOOD_CITY
    assert parse_point("2600 Middlefield Rd, Redwood City, CA 94063") == REDWOOD_CITY


def test_five_digit_house_number_is_not_taken_for_the_zip() -> None:
    # 10001 is a real (New York) ZIP; as a house number it must lose to the ZIP after the state code.
    assert parse_point("10001 Bay Rd, Redwood City, CA 94063") == REDWOOD_CITY
    info = find_zip("10001 Bay Rd, Redwood City, CA 94063")
    assert info is not None
    assert info.city == "Redwood City"


def test_lat_lon_text_is_exact_coordinates() -> None:
    result = OfflineGeocoder().geocode(" 40.8448, -73.8648 ")
    assert result is not None
    assert (result.lat, result.lon, result.source, result.precision) == (40.8448, -73.8648, "coordinates", "exact")
    assert parse_point("(40.8448;-73.8648)") == (40.8448, -73.8648)


@pytest.mark.parametrize("text", ["91,0", "0,181", "-90.5,10", "1,2,3", "40.1.2,-73", "--1,2"])
def test_malformed_or_out_of_range_coordinates_raise(text: str) -> None:
    with pytest.raises(GeocodeInputError):
        parse_point(text)


@pytest.mark.parametrize("text", ["", "   ", "garbage", "Main Street", "00000", "99999", "09001"])
def test_unknown_places_return_none(text: str) -> None:
    # 09001 is a military APO code that zipcodes lists at 0,0: no usable centroid.
    assert parse_point(text) is None


def test_zip_info_carries_time_zone_city_and_county() -> None:
    info = zip_info("10451")
    assert info is not None
    assert info.timezone == "America/New_York"
    assert info.county == "Bronx County"


def test_nearest_zip_finds_the_containing_area_roughly() -> None:
    info = nearest_zip(37.4815, -122.2091)
    assert info is not None
    assert info.zip_code == "94063"
    assert nearest_zip(0.0, -150.0) is None  # middle of the Pacific


def test_haversine_matches_a_known_distance() -> None:
    # San Francisco City Hall to Oakland City Hall: about 13.4 km.
    assert haversine_km(37.7793, -122.4193, 37.8053, -122.2725) == pytest.approx(13.2, abs=0.3)


@pytest.mark.parametrize("lat", [0.0, 40.0, 70.0, 89.5])
def test_bounding_box_contains_every_point_on_the_circle(lat: float) -> None:
    radius = 25.0
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, 10.0, radius)
    import math

    for step in range(360):
        bearing = math.radians(step)
        # Destination point on a sphere at exactly `radius` km.
        d = radius / 6371.0088
        phi1, lam1 = math.radians(lat), math.radians(10.0)
        phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(bearing))
        lam2 = lam1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(phi1), math.cos(d) - math.sin(phi1) * math.sin(phi2)
        )
        plat, plon = math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180
        assert min_lat <= plat <= max_lat
        assert min_lon <= plon <= max_lon
