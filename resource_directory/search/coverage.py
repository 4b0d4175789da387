"""Does a service's area (HSDS ``service_area``) cover the patient? (issue 5, scope 5).

HSDS describes an area by ``extent`` (GeoJSON, TopoJSON, KML or text, per ``extent_type``) and a
``name``/``description``. We decide coverage with what we can read offline:

* GeoJSON Polygon / MultiPolygon (bare, Feature or FeatureCollection): point in polygon;
* otherwise the text (name, description, text extent) must name the patient's ZIP code, city or
  county ("San Mateo County", "94063") — the ZIP comes from the postcode given, or from the ZIP
  centroid nearest to the point given.

Services with no service_area rows serve everyone, as the HSDS API's ``postcode`` filter assumes
(§B.4: "if service_area exists, only return where postcode within it").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from resource_directory.geocoding.offline import ZipInfo

Ring = Sequence[Sequence[float]]


def _point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    count = len(ring)
    for i in range(count):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % count][0], ring[(i + 1) % count][1]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def _point_in_polygon(lon: float, lat: float, polygon: Sequence[Ring]) -> bool:
    if not polygon or not _point_in_ring(lon, lat, polygon[0]):
        return False
    return not any(_point_in_ring(lon, lat, hole) for hole in polygon[1:])


def _geometries(document: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(document, dict):
        return
    kind = document.get("type")
    if kind == "FeatureCollection":
        for feature in document.get("features") or []:
            yield from _geometries(feature)
    elif kind == "Feature":
        yield from _geometries(document.get("geometry"))
    elif kind == "GeometryCollection":
        for geometry in document.get("geometries") or []:
            yield from _geometries(geometry)
    elif kind in {"Polygon", "MultiPolygon"}:
        yield document


def geojson_covers(extent: str, lat: float, lon: float) -> bool | None:
    """True/False for a readable GeoJSON polygon extent; ``None`` when the extent is not one."""
    try:
        document = json.loads(extent)
    except (ValueError, TypeError):
        return None
    geometries = list(_geometries(document))
    if not geometries:
        return None
    for geometry in geometries:
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        try:
            if any(_point_in_polygon(lon, lat, polygon) for polygon in polygons):
                return True
        except (TypeError, IndexError, KeyError):
            return None
    return False


def text_covers(texts: Iterable[str | None], place: ZipInfo) -> bool:
    """The area's words name the place's ZIP, city or county (whole words, case-insensitive)."""
    haystack = " ".join(t for t in texts if t).casefold()
    if not haystack:
        return False
    if re.search(rf"(?<!\d){re.escape(place.zip_code)}(?!\d)", haystack):
        return True
    for name in (place.city, place.county):
        if name and re.search(rf"\b{re.escape(name.casefold())}\b", haystack):
            return True
    return False


def area_covers(
    *,
    name: str | None,
    description: str | None,
    extent: str | None,
    extent_type: str | None,
    point: tuple[float, float] | None,
    place: ZipInfo | None,
) -> bool:
    """Whether one service_area row covers the patient's point and/or ZIP."""
    if extent and point is not None and (extent_type or "geojson").lower() in {"geojson", "json", ""}:
        answer = geojson_covers(extent, point[0], point[1])
        if answer is not None:
            return answer
    if place is None:
        return False
    texts = [name, description]
    if extent and (extent_type or "").lower() == "text":
        texts.append(extent)
    return text_covers(texts, place)
