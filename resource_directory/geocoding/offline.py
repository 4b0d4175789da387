"""Offline geocoding: no network, ever.

The default geocoder of the hub (issue 5, scope 4) answers from what is on the machine:

* "lat,lon" text → that exact point (source ``coordinates``);
* a US ZIP code, or an address that contains one → the ZIP centroid shipped by the ``zipcodes``
  package (source ``zip-centroid``, precision ``postcode``).

Coordinates already present in the directory data are recorded by
:func:`resource_directory.geocoding.service.geocode_location` as source ``data``; they never pass
through here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from resource_directory.geocoding.base import (
    PRECISION_EXACT,
    PRECISION_POSTCODE,
    SOURCE_COORDINATES,
    SOURCE_ZIP_CENTROID,
    GeocodeInputError,
    GeocodeResult,
    check_coordinates,
)

# Text made only of numbers, signs, separators and brackets is meant as coordinates; anything else
# (letters) is treated as an address. A comma or semicolon must separate the two numbers so that
# "94063" alone stays a ZIP code.
_COORDINATE_SHAPED = re.compile(r"[\s()\[\]\d.+\-,;]+")
_COORDINATE_PAIR = re.compile(r"[\s(\[]*([+-]?\d+(?:\.\d+)?)\s*[,;]\s*([+-]?\d+(?:\.\d+)?)[\s)\]]*")
_ZIP_ONLY = re.compile(r"\s*(\d{5})(?:-\d{4})?\s*")
_ZIP_IN_TEXT = re.compile(r"(?<![\d-])(\d{5})(?:-\d{4})?(?![\d-])")
# "CA 94063" — a ZIP right after a two-letter state code is the strongest signal in a US address.
_ZIP_AFTER_STATE = re.compile(r"\b([A-Za-z]{2})\.?,?\s+(\d{5})(?:-\d{4})?(?![\d-])")


@dataclass(frozen=True, slots=True)
class ZipInfo:
    """What the ``zipcodes`` package knows about one ZIP code that matters to us."""

    zip_code: str
    lat: float
    lon: float
    timezone: str | None
    state: str
    city: str
    county: str


@lru_cache(maxsize=1)
def _zip_index() -> dict[str, ZipInfo]:
    """Index the ~42,000 ZIP codes once per process (``zipcodes.matching`` scans a list per call)."""
    import zipcodes  # imported lazily: it decompresses its data file on import

    index: dict[str, ZipInfo] = {}
    for row in zipcodes.list_all():
        lat, lon = float(row["lat"]), float(row["long"])
        if lat == 0.0 and lon == 0.0:  # military APO/FPO codes carry 0,0 — no usable centroid
            continue
        index[row["zip_code"]] = ZipInfo(
            row["zip_code"], lat, lon, row["timezone"] or None, row["state"], row["city"], row["county"]
        )
    return index


def zip_info(postal_code: str | None) -> ZipInfo | None:
    """Look up a US ZIP (5 digits, optionally ZIP+4); ``None`` if unknown or not a ZIP."""
    if not postal_code:
        return None
    match = _ZIP_ONLY.fullmatch(postal_code)
    return _zip_index().get(match.group(1)) if match else None


def nearest_zip(lat: float, lon: float, max_km: float = 50.0) -> ZipInfo | None:
    """The ZIP whose centroid is nearest to a point (a rough reverse geocode for service areas)."""
    best: ZipInfo | None = None
    best_score = math.inf
    # Equirectangular distance is plenty to rank centroids a few km apart.
    scale = math.cos(math.radians(lat)) ** 2
    for info in _zip_index().values():
        score = (info.lat - lat) ** 2 + scale * (info.lon - lon) ** 2
        if score < best_score:
            best, best_score = info, score
    if best is None or math.sqrt(best_score) * 111.2 > max_km:
        return None
    return best


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """Parse "lat,lon" text.

    Returns ``None`` when the text is not meant as coordinates (it has letters or no separator),
    raises :class:`GeocodeInputError` when it is meant as coordinates but is malformed or out of range.
    """
    if not _COORDINATE_SHAPED.fullmatch(text) or not re.search(r"[,;]", text):
        return None
    match = _COORDINATE_PAIR.fullmatch(text)
    if match is None:
        raise GeocodeInputError(f"expected 'latitude,longitude', got {text!r}")
    lat, lon = float(match.group(1)), float(match.group(2))
    check_coordinates(lat, lon)
    return lat, lon


def find_zip(text: str) -> ZipInfo | None:
    """Find the ZIP code in a ZIP-only string or a free-text US address.

    A leading 5-digit number is usually a house number ("12345 Main St"), so a ZIP after a state
    code wins, then the last known 5-digit group.
    """
    if (info := zip_info(text)) is not None:
        return info
    index = _zip_index()
    for match in _ZIP_AFTER_STATE.finditer(text):
        info = index.get(match.group(2))
        if info is not None and info.state == match.group(1).upper():
            return info
    for match in reversed(list(_ZIP_IN_TEXT.finditer(text))):
        if match.start() > 0 and match.group(1) in index:
            return index[match.group(1)]
    return None


class OfflineGeocoder:
    """Geocode "lat,lon" text and US ZIP codes (alone or inside an address) without any network."""

    def geocode(self, query: str) -> GeocodeResult | None:
        """Return a point for ``query`` or ``None``; malformed coordinates raise ``GeocodeInputError``."""
        text = query.strip()
        if not text:
            return None
        coordinates = parse_coordinates(text)
        if coordinates is not None:
            return GeocodeResult(coordinates[0], coordinates[1], SOURCE_COORDINATES, PRECISION_EXACT)
        info = find_zip(text)
        if info is None:
            return None
        return GeocodeResult(info.lat, info.lon, SOURCE_ZIP_CENTROID, PRECISION_POSTCODE)

    def __repr__(self) -> str:
        return "OfflineGeocoder()"
