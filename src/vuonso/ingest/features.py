"""Devices as an OGC API feature collection, and per-plot reading values for the map.

`DeviceSource` serves the `devices` collection: one Point feature per device at its placement.
Placements are versioned like plot boundaries, so `datetime` returns where each device stood
then. `plot_values` gives the value of one map layer (such as soil moisture at 20 cm) for each
plot that a map selection covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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
from vuonso.gis.ogc.plot_source import PlotSource
from vuonso.gis.ogc.sql import (
    bbox_condition,
    extent_from_row,
    geojson_expression,
    geometry_value,
    time_text,
    validity_condition,
)
from vuonso.ingest.metrics import metric

INFO = CollectionInfo(
    id="devices",
    title_key="gis.ogc.devices.title",
    description_key="gis.ogc.devices.description",
    geometry_type="Point",
    properties=(
        PropertyInfo("device_id", "string", "gis.ogc.property.device_id"),
        PropertyInfo("dev_eui", "string", "gis.ogc.property.dev_eui"),
        PropertyInfo("model", "string", "gis.ogc.property.model"),
        PropertyInfo("name", "string", "gis.ogc.property.name"),
        PropertyInfo("plot_id", "integer", "gis.ogc.property.plot_id"),
        PropertyInfo("placed_from", "date-time", "gis.ogc.property.placed_from"),
        PropertyInfo("placed_to", "date-time", "gis.ogc.property.placed_to"),
    ),
    temporal=True,
    filters=(FilterParam("model"),),
    id_type="string",
)

_CURRENT = ("ingest.devices d JOIN ingest.device_placements pl"
            " ON pl.device_id = d.device_id AND pl.valid_to IS NULL")
# The latest placement that meets the interval, one per device.
_AT_TIME = (
    "ingest.devices d CROSS JOIN LATERAL ("
    " SELECT h.position, h.plot_id, h.valid_from, h.valid_to FROM ingest.device_placements h"
    " WHERE h.device_id = d.device_id AND {validity} ORDER BY h.valid_from DESC LIMIT 1) pl"
)
_COLUMNS = "d.device_id, d.dev_eui, d.model, d.name, pl.plot_id, pl.valid_from, pl.valid_to"
_EXTENT = """
SELECT ST_XMin(s.e), ST_YMin(s.e), ST_XMax(s.e), ST_YMax(s.e),
       (SELECT min(h.valid_from) FROM ingest.device_placements h
        JOIN ingest.devices q ON q.device_id = h.device_id WHERE q.workspace_id = %(ws)s),
       NULL::timestamptz
FROM (SELECT ST_Extent(pl.position) AS e FROM ingest.device_placements pl
      JOIN ingest.devices d ON d.device_id = pl.device_id
      WHERE pl.valid_to IS NULL AND d.workspace_id = %(ws)s) s
"""


def _feature(row: tuple[Any, ...]) -> dict[str, Any]:
    device_id, dev_eui, model, name, plot_id, placed_from, placed_to, geometry = row
    return {
        "type": "Feature",
        "id": device_id,
        "geometry": geometry_value(geometry),
        "properties": {
            "device_id": device_id,
            "dev_eui": dev_eui,
            "model": model,
            "name": name,
            "plot_id": plot_id,
            "placed_from": time_text(placed_from),
            "placed_to": time_text(placed_to),
        },
    }


class DeviceSource:
    """Devices of one workspace at their current (or requested) placement; id is the device id.

    A bbox filter on current placements uses the partial GiST index on `position`; one at a past
    time reads each device's placement history.
    """

    info = INFO

    def _selection(self, workspace: Workspace, query: ItemsQuery) -> tuple[str, str, dict[str, Any]]:
        params: dict[str, Any] = {"ws": workspace.id}
        if query.interval is None:
            source = _CURRENT
        else:
            validity = validity_condition("h.valid_from", "h.valid_to", query.interval, params)
            source = _AT_TIME.format(validity=validity)
        where = ["d.workspace_id = %(ws)s", bbox_condition("pl.position", query.bbox, params)]
        if "model" in query.filters:
            params["model"] = query.filters["model"]
            where.append("d.model = %(model)s")
        return source, " AND ".join(where), params

    def extent(self, conn: psycopg.Connection, workspace: Workspace) -> Extent:
        return extent_from_row(conn.execute(_EXTENT, {"ws": workspace.id}).fetchone())

    def page(self, conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery) -> Page:
        """Return one page of devices ordered by device id."""
        source, where, params = self._selection(workspace, query)
        rows = conn.execute(
            f"SELECT {_COLUMNS}, {geojson_expression('pl.position')} FROM {source}"
            f" WHERE {where} ORDER BY d.device_id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": query.limit, "offset": query.offset},
        ).fetchall()
        count = conn.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()
        return Page([_feature(row) for row in rows], int(count[0]) if count else 0)

    def feature(self, conn: psycopg.Connection, workspace: Workspace,
                feature_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            f"SELECT {_COLUMNS}, {geojson_expression('pl.position')} FROM {_CURRENT}"
            " WHERE d.device_id = %(id)s AND d.workspace_id = %(ws)s",
            {"id": feature_id, "ws": workspace.id},
        ).fetchone()
        return _feature(row) if row else None


@dataclass(frozen=True, slots=True)
class MapLayer:
    """A reading that the map can colour plots by.

    `aggregate` is "latest" (the newest reading in the plot within `window`) or "sum" (each
    device's total over `window`, averaged over the plot's devices). `domain` is the range of the
    colour scale in the metric's unit; values outside it take the end colours.
    """

    name: str
    metric: str
    aggregate: Literal["latest", "sum"]
    window: timedelta
    domain: tuple[float, float]
    label_key: str

    @property
    def unit(self) -> str:
        return metric(self.metric).unit


MAP_LAYERS: dict[str, MapLayer] = {
    layer.name: layer
    for layer in (
        MapLayer("soil_moisture_20cm", "soil_moisture_20cm", "latest", timedelta(hours=48),
                 (10.0, 45.0), "gis.map.layer.soil_moisture_20cm"),
        MapLayer("air_temperature", "air_temperature", "latest", timedelta(hours=6),
                 (18.0, 38.0), "gis.map.layer.air_temperature"),
        MapLayer("rainfall", "rainfall", "sum", timedelta(hours=24), (0.0, 50.0),
                 "gis.map.layer.rainfall"),
    )
}

_LATEST = """
SELECT ids.plot_id, last.value, last.time
FROM unnest(%(ids)s::bigint[]) AS ids(plot_id)
CROSS JOIN LATERAL (
    SELECT r.value, r.time FROM ingest.readings r
    WHERE r.plot_id = ids.plot_id AND r.metric = %(metric)s
      AND r.time >= %(since)s AND r.time <= %(now)s
    ORDER BY r.time DESC, r.device_id LIMIT 1
) last
ORDER BY ids.plot_id
"""
_SUM = """
SELECT plot_id, avg(total), max(last_time) FROM (
    SELECT r.plot_id, r.device_id, sum(r.value) AS total, max(r.time) AS last_time
    FROM ingest.readings r
    WHERE r.plot_id = ANY(%(ids)s) AND r.metric = %(metric)s
      AND r.time >= %(since)s AND r.time <= %(now)s
    GROUP BY r.plot_id, r.device_id
) per_device
GROUP BY plot_id
ORDER BY plot_id
"""


def plot_values(conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery,
                layer: MapLayer, now: datetime | None = None) -> dict[str, Any]:
    """Return the layer's value for each plot of a selection that has one.

    The selection is a plots query (bbox, farm_code, company_code, limit, offset). Plots without
    a reading in the window are absent from `values`.
    """
    moment = now or datetime.now(UTC)
    ids = PlotSource().plot_ids(conn, workspace, query)
    sql = _LATEST if layer.aggregate == "latest" else _SUM
    rows = conn.execute(sql, {"ids": ids, "metric": layer.metric,
                              "since": moment - layer.window, "now": moment}).fetchall() if ids else []
    return {
        "layer": layer.name,
        "metric": layer.metric,
        "unit": layer.unit,
        "aggregate": layer.aggregate,
        "window_hours": layer.window.total_seconds() / 3600,
        "domain": list(layer.domain),
        "timeStamp": time_text(moment),
        "plots": len(ids),
        "values": [{"plot_id": int(plot_id), "value": round(float(value), 3),
                    "time": time_text(time)} for plot_id, value, time in rows],
    }
