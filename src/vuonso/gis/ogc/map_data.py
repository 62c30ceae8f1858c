"""Light plot data for the phone map: simplified boundaries, few properties, farm bounds.

The map reads these instead of the OGC items, because a phone on a weak link needs less data.
Boundaries are simplified to about one screen pixel at the requested zoom and rounded to six
decimal places (about 11 cm). Each plot keeps only its code, farm and area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import psycopg

from vuonso.gis.ogc.model import FilterParam, ItemsQuery, Workspace
from vuonso.gis.ogc.params import Options, parse_items_query
from vuonso.gis.ogc.plot_source import INFO as PLOTS_INFO
from vuonso.gis.ogc.plot_source import PlotSource

MAX_PLOTS = 2000
DEFAULT_PLOTS = 500
MAX_ZOOM = 22
ZOOM = FilterParam("zoom", "integer", values=tuple(str(level) for level in range(MAX_ZOOM + 1)))
# The map selects plots by place and by farm or company, never by time.
SELECTION = replace(PLOTS_INFO, temporal=False, filters=tuple(
    param for param in PLOTS_INFO.filters if param.name in ("farm_code", "company_code")))
_LIGHT_PROPERTIES = ("code", "farm_code", "area_ha")

_FARMS = """
SELECT f.code, f.name, c.code, count(g.plot_id), ST_XMin(ST_Extent(g.geom)),
       ST_YMin(ST_Extent(g.geom)), ST_XMax(ST_Extent(g.geom)), ST_YMax(ST_Extent(g.geom))
FROM gis.farms f
JOIN gis.companies c ON c.id = f.company_id
LEFT JOIN gis.plots p ON p.farm_id = f.id
LEFT JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL
WHERE c.workspace_id = %(ws)s
GROUP BY f.id, c.code
ORDER BY c.code, f.code
"""


def parse_selection(pairs: Sequence[tuple[str, str]], language: str,
                    extra: Sequence[FilterParam] = ()) -> tuple[ItemsQuery, Options]:
    """Validate a map request: bbox, farm_code, company_code, limit (at most 2000), offset."""
    return parse_items_query(pairs, SELECTION, language, extra=extra, max_limit=MAX_PLOTS,
                             default_limit=DEFAULT_PLOTS)


def tolerance_deg(zoom: int) -> float:
    """Return the width of one screen pixel in degrees of longitude at a Web Mercator zoom."""
    return 360.0 / (256 * 2**zoom)


def map_plots(conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery,
              zoom: int | None) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of light plot features and the offset of the next page.

    Without a zoom the boundaries are not simplified.
    """
    simplify = tolerance_deg(zoom) if zoom is not None else None
    page = PlotSource().page(conn, workspace, query, simplify_deg=simplify, precision=6)
    features = [
        {"type": "Feature", "id": found["id"], "geometry": found["geometry"],
         "properties": {name: found["properties"][name] for name in _LIGHT_PROPERTIES}}
        for found in page.features
    ]
    following = query.offset + len(features)
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": page.number_matched,
        "numberReturned": len(features),
        "nextOffset": following if following < page.number_matched else None,
    }


def farm_list(conn: psycopg.Connection, workspace: Workspace) -> list[dict[str, Any]]:
    """List the workspace's farms with their plot count and the CRS84 box of their plots."""
    rows = conn.execute(_FARMS, {"ws": workspace.id}).fetchall()
    return [
        {"code": code, "name": name, "company_code": company, "plot_count": int(count),
         "bbox": None if xmin is None else [xmin, ymin, xmax, ymax]}
        for code, name, company, count, xmin, ymin, xmax, ymax in rows
    ]
