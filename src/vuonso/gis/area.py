"""Geodesic area on the WGS 84 ellipsoid: never in degrees or a projected plane."""

from __future__ import annotations

from pyproj import Geod
from shapely.geometry.base import BaseGeometry

WGS84 = Geod(ellps="WGS84")
SQUARE_METRES_PER_HECTARE = 10_000.0


def area_m2(geometry: BaseGeometry) -> float:
    """Area in m² of a lon/lat (EPSG:4326) Polygon or MultiPolygon; holes are subtracted.

    pyproj signs the area by ring orientation, so each ring is measured on its own and the
    absolute values are combined: shells add and holes subtract whatever their winding. Z is ignored.
    """
    polygons = getattr(geometry, "geoms", [geometry])
    total = 0.0
    for polygon in polygons:
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        total += abs(WGS84.polygon_area_perimeter(*_lon_lat(polygon.exterior.coords))[0])
        for hole in polygon.interiors:
            total -= abs(WGS84.polygon_area_perimeter(*_lon_lat(hole.coords))[0])
    return total


def area_ha(geometry: BaseGeometry) -> float:
    """Geodesic area in hectares."""
    return area_m2(geometry) / SQUARE_METRES_PER_HECTARE


def _lon_lat(coords: object) -> tuple[list[float], list[float]]:
    lons: list[float] = []
    lats: list[float] = []
    for point in coords:  # type: ignore[attr-defined]
        lons.append(point[0])
        lats.append(point[1])
    return lons, lats
