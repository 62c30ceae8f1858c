"""Devices: sensor stations with their model, current position and plot."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vuonso.api.deps import ConnDep
from vuonso.gis.plots import get_plot
from vuonso.ingest.devices import list_devices

router = APIRouter(prefix="/api/devices", tags=["devices"])

MAX_PAGE = 500


def device_item(row: dict[str, Any]) -> dict[str, Any]:
    """Public fields of a device; `position` is a GeoJSON Point (lon, lat) or None when unplaced."""
    placed = row["lon"] is not None and row["lat"] is not None
    return {
        "id": row["device_id"],
        "dev_eui": row["dev_eui"],
        "model": row["model"],
        "name": row["name"],
        "plot_id": row["plot_id"],
        "position": {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if placed else None,
        "placed_at": row["placed_at"].isoformat() if row["placed_at"] else None,
    }


@router.get("", summary="List devices with their position and plot, ordered by id")
def list_devices_route(
    conn: ConnDep,
    plot: Annotated[int | None, Query(ge=1, description="Only devices placed in this plot")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Devices per page")] = 100,
    offset: Annotated[int, Query(ge=0, description="Devices to skip")] = 0,
) -> dict[str, Any]:
    if plot is not None:
        get_plot(conn, plot)
    rows = list_devices(conn, plot_id=plot, limit=limit + 1, offset=offset)
    return {
        "items": [device_item(row) for row in rows[:limit]],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(rows) > limit else None,
    }
