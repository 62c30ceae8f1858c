"""The `farms` collection: one feature per farm, outlined by the convex hull of its plots.

A farm has no boundary of its own in the registry, so its geometry is the convex hull of its
plots' current boundaries, or NULL for a farm without plots. The hull may cover land between
separate blocks. `area_ha` is the sum of the plots' areas, not the hull's.
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
from vuonso.gis.ogc.sql import bbox_condition, extent_from_row, geojson_expression, geometry_value

INFO = CollectionInfo(
    id="farms",
    title_key="gis.ogc.farms.title",
    description_key="gis.ogc.farms.description",
    geometry_type="Polygon",
    properties=(
        PropertyInfo("code", "string", "gis.ogc.property.code"),
        PropertyInfo("name", "string", "gis.ogc.property.name"),
        PropertyInfo("company_code", "string", "gis.ogc.property.company_code"),
        PropertyInfo("company_name", "string", "gis.ogc.property.company_name"),
        PropertyInfo("plot_count", "integer", "gis.ogc.property.plot_count"),
        PropertyInfo("area_ha", "number", "gis.ogc.property.plots_area_ha", unit="ha"),
    ),
    filters=(FilterParam("company_code"),),
)

# Farms with their hull, plot count and area; the outer query filters on the hull.
_FARMS = """
SELECT * FROM (
    SELECT f.id, f.code, f.name, c.code AS company_code, c.name AS company_name,
           count(g.plot_id) AS plot_count, coalesce(sum(g.area_ha), 0) AS area_ha,
           ST_ConvexHull(ST_Collect(g.geom)) AS hull
    FROM gis.farms f
    JOIN gis.companies c ON c.id = f.company_id
    LEFT JOIN gis.plots p ON p.farm_id = f.id
    LEFT JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL
    WHERE c.workspace_id = %(ws)s AND {farm_where}
    GROUP BY f.id, c.code, c.name
) farm
WHERE {where}
"""
_EXTENT = """
SELECT ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e), NULL::timestamptz, NULL::timestamptz
FROM (SELECT ST_Extent(g.geom) AS e FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id
      WHERE g.valid_to IS NULL AND p.workspace_id = %(ws)s) s
"""


def _feature(row: tuple[Any, ...]) -> dict[str, Any]:
    farm_id, code, name, company_code, company_name, plot_count, area, geometry = row
    return {
        "type": "Feature",
        "id": farm_id,
        "geometry": geometry_value(geometry),
        "properties": {
            "code": code,
            "name": name,
            "company_code": company_code,
            "company_name": company_name,
            "plot_count": int(plot_count),
            "area_ha": round(float(area), 4),
        },
    }


class FarmSource:
    """Farms of one workspace; the feature id is the farm id."""

    info = INFO

    def _query(self, workspace: Workspace, query: ItemsQuery,
               farm_id: int | None = None) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"ws": workspace.id}
        farm_where = ["TRUE"]
        if "company_code" in query.filters:
            params["company_code"] = query.filters["company_code"]
            farm_where.append("c.code = %(company_code)s")
        if farm_id is not None:
            params["farm_id"] = farm_id
            farm_where.append("f.id = %(farm_id)s")
        where = bbox_condition("farm.hull", query.bbox, params)
        return _FARMS.format(farm_where=" AND ".join(farm_where), where=where), params

    def extent(self, conn: psycopg.Connection, workspace: Workspace) -> Extent:
        return extent_from_row(conn.execute(_EXTENT, {"ws": workspace.id}).fetchone())

    def page(self, conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery) -> Page:
        """Return one page of farms ordered by id."""
        selection, params = self._query(workspace, query)
        rows = conn.execute(
            "SELECT id, code, name, company_code, company_name, plot_count, area_ha,"
            f" {geojson_expression('hull')} FROM ({selection}) chosen"
            " ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": query.limit, "offset": query.offset},
        ).fetchall()
        count = conn.execute(f"SELECT count(*) FROM ({selection}) chosen", params).fetchone()
        return Page([_feature(row) for row in rows], int(count[0]) if count else 0)

    def feature(self, conn: psycopg.Connection, workspace: Workspace,
                feature_id: str) -> dict[str, Any] | None:
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 9:
            return None
        selection, params = self._query(workspace, ItemsQuery(), int(feature_id))
        row = conn.execute(
            "SELECT id, code, name, company_code, company_name, plot_count, area_ha,"
            f" {geojson_expression('hull')} FROM ({selection}) chosen",
            params,
        ).fetchone()
        return _feature(row) if row else None
