"""Plot look-up by position: the plot containing it, or the nearest plot within 50 m."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vuonso.api.deps import ConnDep, SettingsDep
from vuonso.api.routers.plots import plot_properties
from vuonso.core.errors import NotFoundError
from vuonso.gis import plots
from vuonso.ingest import queries

router = APIRouter(prefix="/api/gis", tags=["gps"])

# Further than this from every plot, a position is reported as in no plot.
LOCATE_RADIUS_M = 50.0


@router.get("/locate", summary="The plot containing a position, or the nearest within 50 m, "
            "with its latest readings")
def locate(
    conn: ConnDep,
    settings: SettingsDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude, WGS 84 degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude, WGS 84 degrees")],
    workspace: Annotated[str, Query(description="Workspace code")] = "production",
) -> dict[str, Any]:
    found = plots.plot_at(conn, lon, lat, within_m=LOCATE_RADIUS_M,
                          workspace_id=plots.workspace_id(conn, workspace))
    if found is None:
        raise NotFoundError(f"no plot contains ({lat}, {lon}) or lies within "
                            f"{LOCATE_RADIUS_M:g} m of it", key="gis.tracks.locate_none",
                            lat=lat, lon=lon, within_m=f"{LOCATE_RADIUS_M:g}")
    plot_id, distance_m = found
    readings = queries.latest_by_metric(conn, plot_id, timezone=settings.timezone)
    return {
        "plot": plot_properties(plots.get_plot(conn, plot_id)),
        "inside": distance_m == 0.0,
        "distance_m": round(distance_m, 1),
        "readings": [
            {"metric": r.metric, "time": r.time.isoformat(), "value": r.value, "unit": r.unit,
             "device_id": r.device_id}
            for r in readings
        ],
    }
