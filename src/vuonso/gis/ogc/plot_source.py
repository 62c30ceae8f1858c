"""The `plots` collection: one feature per plot with its boundary and area in hectares.

Boundaries are versioned. Without `datetime` a plot has its current boundary, read through the
partial GiST index on current geometries. With `datetime` it has the latest boundary version
whose validity [valid_from, valid_to) meets the requested instant or interval, so an instant
returns the boundary valid at that time.
"""

from __future__ import annotations

from typing import Any

import psycopg

from vuonso.gis.ogc.model import (
    CollectionInfo,
    Extent,
    FilterParam,
    ItemsQuery,
    Page,
    PropertyInfo,
    Workspace,
)
from vuonso.gis.ogc.sql import (
    PRECISION,
    bbox_condition,
    extent_from_row,
    geojson_expression,
    geometry_value,
    time_text,
    validity_condition,
)

INFO = CollectionInfo(
    id="plots",
    title_key="gis.ogc.plots.title",
    description_key="gis.ogc.plots.description",
    geometry_type="MultiPolygon",
    properties=(
        PropertyInfo("code", "string", "gis.ogc.property.code"),
        PropertyInfo("farm_code", "string", "gis.ogc.property.farm_code"),
        PropertyInfo("company_code", "string", "gis.ogc.property.company_code"),
        PropertyInfo("team_code", "string", "gis.ogc.property.team_code"),
        PropertyInfo("crop", "string", "gis.ogc.property.crop", value_labels="gis.ogc.value.crop"),
        PropertyInfo("planting_year", "integer", "gis.ogc.property.planting_year"),
        PropertyInfo("clone", "string", "gis.ogc.property.clone"),
        PropertyInfo("tree_count", "integer", "gis.ogc.property.tree_count"),
        PropertyInfo("tapping_system", "string", "gis.ogc.property.tapping_system"),
        PropertyInfo("status", "string", "gis.ogc.property.status",
                     value_labels="gis.ogc.value.status"),
        PropertyInfo("area_ha", "number", "gis.ogc.property.area_ha", unit="ha"),
        PropertyInfo("geometry_valid_from", "date-time", "gis.ogc.property.geometry_valid_from"),
        PropertyInfo("geometry_valid_to", "date-time", "gis.ogc.property.geometry_valid_to"),
    ),
    temporal=True,
    filters=(
        FilterParam("farm_code"),
        FilterParam("company_code"),
        FilterParam("crop", values=("rubber", "coffee")),
        FilterParam("status",
                    values=("immature", "tapping", "replanting", "felled", "productive")),
    ),
    page_path="/plots/{id}",
)
# Filter parameter -> column.
_FILTER_COLUMNS = {"farm_code": "f.code", "company_code": "c.code", "crop": "p.crop",
                   "status": "p.status"}

_CURRENT = "gis.plots p JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL"
# The latest boundary version that meets the interval, one per plot.
_AT_TIME = (
    "gis.plots p CROSS JOIN LATERAL ("
    " SELECT h.geom, h.area_ha, h.valid_from, h.valid_to FROM gis.plot_geometries h"
    " WHERE h.plot_id = p.id AND {validity} ORDER BY h.valid_from DESC LIMIT 1) g"
)
_JOINS = (" JOIN gis.farms f ON f.id = p.farm_id"
          " JOIN gis.companies c ON c.id = f.company_id")
_COLUMNS = (
    "p.id, p.code, f.code, c.code, t.code, p.crop, p.planting_year, p.clone, p.tree_count,"
    " p.tapping_system, p.status, g.area_ha, g.valid_from, g.valid_to"
)
_EXTENT = """
SELECT ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e),
       (SELECT min(h.valid_from) FROM gis.plot_geometries h JOIN gis.plots q ON q.id = h.plot_id
        WHERE q.workspace_id = %(ws)s),
       NULL::timestamptz
FROM (SELECT ST_Extent(g.geom) AS e FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id
      WHERE g.valid_to IS NULL AND p.workspace_id = %(ws)s) s
"""


def _feature(row: tuple[Any, ...]) -> dict[str, Any]:
    (plot_id, code, farm_code, company_code, team_code, crop, planting_year, clone, tree_count,
     tapping_system, status, area, valid_from, valid_to, geometry) = row
    return {
        "type": "Feature",
        "id": plot_id,
        "geometry": geometry_value(geometry),
        "properties": {
            "code": code,
            "farm_code": farm_code,
            "company_code": company_code,
            "team_code": team_code,
            "crop": crop,
            "planting_year": planting_year,
            "clone": clone,
            "tree_count": tree_count,
            "tapping_system": tapping_system,
            "status": status,
            "area_ha": round(float(area), 4),
            "geometry_valid_from": time_text(valid_from),
            "geometry_valid_to": time_text(valid_to),
        },
    }


class PlotSource:
    """Plots of one workspace; the feature id is the plot id."""

    info = INFO

    def _selection(self, workspace: Workspace, query: ItemsQuery) -> tuple[str, str, dict[str, Any]]:
        """Return the FROM clause, the WHERE clause and their parameters for a query."""
        params: dict[str, Any] = {"ws": workspace.id}
        if query.interval is None:
            source = _CURRENT
        else:
            validity = validity_condition("h.valid_from", "h.valid_to", query.interval, params)
            source = _AT_TIME.format(validity=validity)
        where = ["p.workspace_id = %(ws)s", bbox_condition("g.geom", query.bbox, params)]
        for name, value in query.filters.items():
            params[f"filter_{name}"] = value
            where.append(f"{_FILTER_COLUMNS[name]} = %(filter_{name})s")
        return source + _JOINS, " AND ".join(where), params

    def extent(self, conn: psycopg.Connection, workspace: Workspace) -> Extent:
        return extent_from_row(conn.execute(_EXTENT, {"ws": workspace.id}).fetchone())

    def page(self, conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery, *,
             simplify_deg: float | None = None, precision: int = PRECISION) -> Page:
        """Return one page of plots ordered by id, optionally with simplified boundaries."""
        source, where, params = self._selection(workspace, query)
        geometry = geojson_expression("g.geom", precision=precision, simplify_deg=simplify_deg)
        rows = conn.execute(
            f"SELECT {_COLUMNS}, {geometry} FROM {source}"
            " LEFT JOIN gis.teams t ON t.id = p.team_id"
            f" WHERE {where} ORDER BY p.id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": query.limit, "offset": query.offset},
        ).fetchall()
        # A short page that is not past the end gives the total without counting.
        matched = len(rows) + query.offset
        if len(rows) == query.limit or (query.offset > 0 and not rows):
            count = conn.execute(f"SELECT count(*) FROM {source} WHERE {where}",
                                 params).fetchone()
            matched = int(count[0]) if count else 0
        return Page([_feature(row) for row in rows], matched)

    def plot_ids(self, conn: psycopg.Connection, workspace: Workspace,
                 query: ItemsQuery) -> list[int]:
        """Return the ids of the plots a query selects, one page of them, ordered by id."""
        source, where, params = self._selection(workspace, query)
        rows = conn.execute(
            f"SELECT p.id FROM {source} WHERE {where} ORDER BY p.id"
            " LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": query.limit, "offset": query.offset},
        ).fetchall()
        return [int(row[0]) for row in rows]

    def feature(self, conn: psycopg.Connection, workspace: Workspace,
                feature_id: str) -> dict[str, Any] | None:
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 18:
            return None
        row = conn.execute(
            f"SELECT {_COLUMNS}, {geojson_expression('g.geom')} FROM {_CURRENT}{_JOINS}"
            " LEFT JOIN gis.teams t ON t.id = p.team_id"
            " WHERE p.id = %(id)s AND p.workspace_id = %(ws)s",
            {"id": int(feature_id), "ws": workspace.id},
        ).fetchone()
        return _feature(row) if row else None
