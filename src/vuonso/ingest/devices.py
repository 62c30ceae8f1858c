"""Device registry: models, positions and the plot that contains each device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from vuonso.core.errors import NotFoundError
from vuonso.core.workspaces import workspace_id
from vuonso.gis import plots
from vuonso.ingest.errors import IngestError


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    device_id: str
    model: str
    plot_id: int | None


def register_device(conn: psycopg.Connection, device_id: str, model: str, lon: float, lat: float,
                    *, dev_eui: str | None = None, name: str | None = None,
                    workspace: str = "production") -> int | None:
    """Register a device at a position; return the id of the plot containing it (or None)."""
    from vuonso.ingest.codecs import MODELS  # the codec list is the list of supported models

    if model not in MODELS:
        raise IngestError(f"unknown device model {model!r}; use one of {sorted(MODELS)}",
                          key="ingest.model_unknown", model=model)
    conn.execute(
        "INSERT INTO ingest.devices (device_id, workspace_id, dev_eui, model, name)"
        " VALUES (%s, %s, %s, %s, %s)",
        (device_id, workspace_id(conn, workspace), dev_eui.lower() if dev_eui else None,
         model, name),
    )
    return move_device(conn, device_id, lon, lat)


def move_device(conn: psycopg.Connection, device_id: str, lon: float, lat: float) -> int | None:
    """Place a device at a new position, keeping the old placement as history; return its plot."""
    row = conn.execute("SELECT workspace_id FROM ingest.devices WHERE device_id = %s",
                       (device_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"device {device_id!r} not found", device=device_id)
    found = plots.plot_at(conn, lon, lat, workspace_id=row[0])
    plot_id = found[0] if found else None
    conn.execute(
        "UPDATE ingest.device_placements SET valid_to = now()"
        " WHERE device_id = %s AND valid_to IS NULL",
        (device_id,),
    )
    conn.execute(
        "INSERT INTO ingest.device_placements (device_id, position, plot_id)"
        " VALUES (%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)",
        (device_id, lon, lat, plot_id),
    )
    return plot_id


def lookup(conn: psycopg.Connection, identifiers: list[str]) -> dict[str, DeviceRecord]:
    """Resolve device ids or DevEUIs to registered devices; unknown identifiers are absent."""
    if not identifiers:
        return {}
    rows = conn.execute(
        "SELECT d.device_id, d.dev_eui, d.model, pl.plot_id FROM ingest.devices d"
        " LEFT JOIN ingest.device_placements pl"
        "   ON pl.device_id = d.device_id AND pl.valid_to IS NULL"
        " WHERE d.device_id = ANY(%(ids)s) OR d.dev_eui = ANY(%(ids)s)",
        {"ids": identifiers},
    ).fetchall()
    found: dict[str, DeviceRecord] = {}
    for device_id, dev_eui, model, plot_id in rows:
        record = DeviceRecord(device_id, model, plot_id)
        found[device_id] = record
        if dev_eui:
            found[dev_eui] = record
    return found


def list_devices(conn: psycopg.Connection, *, plot_id: int | None = None,
                 workspace: str = "production", limit: int = 1000,
                 offset: int = 0) -> list[dict[str, Any]]:
    """List devices with their current position (lon, lat) and plot."""
    where = "w.code = %s" + ("" if plot_id is None else " AND pl.plot_id = %s")
    params: list[Any] = [workspace] + ([] if plot_id is None else [plot_id]) + [limit, offset]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT d.device_id, d.dev_eui, d.model, d.name, pl.plot_id,"
            " ST_X(pl.position) AS lon, ST_Y(pl.position) AS lat, pl.valid_from AS placed_at"
            " FROM ingest.devices d JOIN core.workspaces w ON w.id = d.workspace_id"
            " LEFT JOIN ingest.device_placements pl"
            "   ON pl.device_id = d.device_id AND pl.valid_to IS NULL"
            f" WHERE {where} ORDER BY d.device_id LIMIT %s OFFSET %s",
            params,
        ).fetchall()
