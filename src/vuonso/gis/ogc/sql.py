"""SQL fragments shared by the feature sources: bbox and validity filters, GeoJSON output.

Fragments take column names from code, never from requests, and add their values to the
caller's named parameters.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vuonso.gis.ogc.model import BBox, Extent, Interval

# Decimal places of coordinates in GeoJSON: 7 places of a degree are about 1 cm.
PRECISION = 7


def bbox_condition(column: str, bbox: BBox | None, params: dict[str, Any]) -> str:
    """Return a condition true when `column` intersects the box; a GiST index on it serves it."""
    if bbox is None:
        return "TRUE"
    params.update(bbox_min_lon=bbox.min_lon, bbox_min_lat=bbox.min_lat,
                  bbox_max_lon=bbox.max_lon, bbox_max_lat=bbox.max_lat)
    return (f"ST_Intersects({column}, ST_MakeEnvelope(%(bbox_min_lon)s, %(bbox_min_lat)s,"
            " %(bbox_max_lon)s, %(bbox_max_lat)s, 4326))")


def validity_condition(from_column: str, to_column: str, interval: Interval,
                       params: dict[str, Any]) -> str:
    """Return a condition true when a version valid over [from, to) meets the closed interval.

    A NULL `to_column` means the version is still valid.
    """
    parts = []
    if interval.end is not None:
        params["interval_end"] = interval.end
        parts.append(f"{from_column} <= %(interval_end)s")
    if interval.start is not None:
        params["interval_start"] = interval.start
        parts.append(f"({to_column} IS NULL OR {to_column} > %(interval_start)s)")
    return " AND ".join(parts) or "TRUE"


def span_condition(start_column: str, end_column: str, interval: Interval,
                   params: dict[str, Any]) -> str:
    """Return a condition true when the closed span [start, end] meets the closed interval.

    A row whose span is unknown (NULL start or end) never matches a time filter.
    """
    parts = [f"{start_column} IS NOT NULL", f"{end_column} IS NOT NULL"]
    if interval.end is not None:
        params["interval_end"] = interval.end
        parts.append(f"{start_column} <= %(interval_end)s")
    if interval.start is not None:
        params["interval_start"] = interval.start
        parts.append(f"{end_column} >= %(interval_start)s")
    return " AND ".join(parts)


def geojson_expression(column: str, *, precision: int = PRECISION,
                       simplify_deg: float | None = None) -> str:
    """Return an expression giving the column's geometry as GeoJSON text.

    `simplify_deg` simplifies with that tolerance in degrees first, keeping polygons valid.
    """
    geometry = column
    if simplify_deg is not None:
        geometry = f"ST_SimplifyPreserveTopology({column}, {float(simplify_deg)!r})"
    return f"ST_AsGeoJSON({geometry}, {int(precision)})"


def geometry_value(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text is not None else None


def time_text(moment: datetime | None) -> str | None:
    """Return an RFC 3339 UTC time such as 2024-05-01T01:00:00Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def extent_from_row(row: tuple[Any, ...] | None) -> Extent:
    """Build an Extent from (xmin, ymin, xmax, ymax, start, end); NULL box values mean no data."""
    if row is None:
        return Extent()
    xmin, ymin, xmax, ymax, start, end = row
    box = None if xmin is None else (float(xmin), float(ymin), float(xmax), float(ymax))
    return Extent(box, start, end)
