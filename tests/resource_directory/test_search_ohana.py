"""Acceptance (issue 5): the county sample imports and "food" within 5 miles of ZIP 94063 comes back
sorted by distance, each result explained. Uses D1's Ohana importer; skipped until it is present."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from resource_directory.geocoding import OfflineGeocoder, geocode_pending
from resource_directory.search import SearchQuery, search

FIVE_MILES_KM = 5 * 1.609344


def test_food_near_94063_from_the_ohana_sample_sorted_by_distance(session: Session, shared_dir: Path) -> None:
    pytest.importorskip("resource_directory.ohana", reason="D1's Ohana importer is not in the tree yet")
    from resource_directory.importer import import_path

    sample = shared_dir / "hsds-samples" / "ohana-api-san-mateo-sample" / "sample-csv"
    import_path(session, sample, format="ohana")
    geocode_pending(session, OfflineGeocoder())
    session.commit()

    page = search(session, SearchQuery(text="food", near="94063", radius_km=FIVE_MILES_KM, per_page=50))
    assert page.total >= 1
    distances = [r.distance_km for r in page.results]
    assert all(d is not None and d <= FIVE_MILES_KM for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    for result in page.results:
        assert result.matched[0] == "text: 'food'"
        assert result.matched[-1].startswith("within ")
