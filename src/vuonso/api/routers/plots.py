"""Plots: a paged list with farm and company filters, and one plot as a GeoJSON Feature."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from shapely.geometry import mapping

from vuonso.api.deps import ConnDep
from vuonso.gis import plots

router = APIRouter(prefix="/api/plots", tags=["plots"])

AREA_UNIT = "ha"
MAX_PAGE = 500


def plot_properties(row: dict[str, Any]) -> dict[str, Any]:
    """Public fields of a plot row from gis.plots; the area is in hectares, stated in area_unit."""
    return {
        "id": row["id"],
        "code": row["code"],
        "farm": row["farm_code"],
        "company": row["company_code"],
        "team": row["team_code"],
        "crop": row["crop"],
        "clone": row["clone"],
        "planting_year": row["planting_year"],
        "tree_count": row["tree_count"],
        "status": row["status"],
        "area_ha": round(float(row["area_ha"]), 4),
        "area_unit": AREA_UNIT,
    }


@router.get("", summary="List plots, ordered by id")
def list_plots(
    conn: ConnDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Plots per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="Plots to skip")] = 0,
    farm: Annotated[str | None, Query(description="Only plots of this farm code")] = None,
    company: Annotated[str | None, Query(description="Only plots of this company code")] = None,
) -> dict[str, Any]:
    # Fetching one row beyond the page reveals whether a next page exists, with no count query.
    rows = plots.list_plots(conn, farm_code=farm, company_code=company, limit=limit + 1,
                            offset=offset)
    return {
        "items": [plot_properties(row) for row in rows[:limit]],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(rows) > limit else None,
    }


@router.get("/{plot_id}", summary="One plot as a GeoJSON Feature (EPSG:4326, area in ha)",
            response_class=JSONResponse)
def get_plot(plot_id: Annotated[int, Path(ge=1, description="Plot id")],
             conn: ConnDep) -> JSONResponse:
    row = plots.get_plot(conn, plot_id, with_geometry=True)
    properties = plot_properties(row)
    properties["geometry_valid_from"] = row["geometry_valid_from"].isoformat()
    feature = {
        "type": "Feature",
        "id": row["id"],
        "geometry": mapping(row["geometry"]),
        "properties": properties,
    }
    return JSONResponse(feature, media_type="application/geo+json")
