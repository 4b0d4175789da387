"""Bad search input raises SearchError naming the field; good request parameters parse."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from resource_directory.search import SearchError, SearchQuery


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"radius_km": -1}, "radius_km"),
        ({"radius_km": float("nan")}, "radius_km"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"page": 0}, "page"),
        ({"language": "xx"}, "language"),
        ({"language": "Spanish"}, "language"),
        ({"near": (91.0, 0.0)}, "near"),
        ({"near": ("a", "b")}, "near"),
        ({"covering": (0.0, 200.0)}, "covering"),
        ({"age": -3}, "age"),
        ({"open_at": "tomorrow"}, "open_at"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SearchError) as error:
        SearchQuery(**kwargs)
    assert error.value.field == field
    assert error.value.message


def test_language_codes_are_iso_639_in_any_length() -> None:
    assert SearchQuery(language="ES").language == "es"
    query = SearchQuery(language="spa")
    assert query.language_info is not None
    assert query.language_info.name == "Spanish"
    assert query.language_info.codes >= {"es", "spa"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "40.8"}, "near"),
        ({"lat": "north", "lng": "-73.9"}, "near"),
        ({"radius": "far"}, "radius_km"),
        ({"open_now": "maybe"}, "open_now"),
        ({"open_at": "next tuesday"}, "open_at"),
        ({"per_page": "ten"}, "per_page"),
    ],
)
def test_request_parameter_errors(params: dict[str, str], field: str) -> None:
    with pytest.raises(SearchError) as error:
        SearchQuery.from_params(params)
    assert error.value.field == field


def test_request_parameters_map_onto_the_query() -> None:
    query = SearchQuery.from_params(
        {
            "category": "food-insecurity",
            "search": "pantry",
            "lat": "40.84",
            "lng": "-73.86",
            "proximity": "8047",
            "language": "es",
            "age": "30",
            "open_at": "2024-05-06T10:00:00-04:00",
            "free": "true",
            "accepting": "1",
            "postcode": "10460",
            "page": "2",
            "per_page": "10",
        }
    )
    assert (query.need, query.text, query.near) == ("food-insecurity", "pantry", (40.84, -73.86))
    assert query.radius_km == pytest.approx(8.047)
    assert query.open_at == datetime.fromisoformat("2024-05-06T10:00:00-04:00")
    assert (query.free_only, query.accepting_only, query.covering) == (True, True, "10460")
    assert (query.page, query.per_page, query.age) == (2, 10, 30.0)
