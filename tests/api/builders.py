"""Builders of test data: plots through the gis functions, devices and readings by SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg
from shapely.geometry import Polygon

from vuonso.gis.plots import PlotFields, create_company, create_farm, create_plot
from vuonso.ingest.devices import move_device
from vuonso.ingest.partitions import ensure_for_times

# A square of 0.003 x 0.003 degrees in Gia Lai, about 10.6 ha.
SQUARE = Polygon([(108.000, 13.900), (108.003, 13.900), (108.003, 13.903), (108.000, 13.903)])


def make_plot(conn: psycopg.Connection, code: str = "A01", *, farm: str = "NT1",
              company: str = "CT72", crop: str = "rubber", clone: str | None = "RRIV 124",
              geometry: Polygon = SQUARE) -> int:
    """Create a plot, and its company and farm when they do not exist yet; return its id."""
    row = conn.execute("SELECT id FROM gis.companies WHERE code = %s", (company,)).fetchone()
    company_id = row[0] if row else create_company(conn, company, f"Công ty {company}")
    row = conn.execute("SELECT id FROM gis.farms WHERE company_id = %s AND code = %s",
                       (company_id, farm)).fetchone()
    farm_id = row[0] if row else create_farm(conn, company_id, farm, f"Nông trường {farm}")
    fields = PlotFields(code=code, crop=crop, planting_year=2012, clone=clone, status="tapping")
    return create_plot(conn, farm_id, fields, geometry)


def make_device(conn: psycopg.Connection, device_id: str, lon: float, lat: float,
                model: str = "dragino-lse01") -> int | None:
    """Register a device row by SQL and place it with move_device; return its plot id."""
    conn.execute(
        "INSERT INTO ingest.devices (device_id, workspace_id, model)"
        " SELECT %s, id, %s FROM core.workspaces WHERE code = 'production'",
        (device_id, model),
    )
    return move_device(conn, device_id, lon, lat)


def insert_readings(conn: psycopg.Connection, plot_id: int,
                    rows: Iterable[tuple[datetime, str, str, float, str]]) -> None:
    """Insert (time, device, metric, value, unit) rows into ingest.readings for a plot."""
    rows = list(rows)
    ensure_for_times(conn, [row[0] for row in rows])
    received = datetime.now(UTC)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingest.readings (time, device_id, metric, value, unit, plot_id,"
            " received_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(*row, plot_id, received) for row in rows],
        )

