"""The `tracks` collection: one feature per imported GPX track, one line per segment.

Tracks are read only through the public functions of vuonso.gis.tracks (`list_tracks` and
`track_feature`), which take no bbox or time filter. So this source lists every track of the
workspace and filters in Python: a track meets `datetime` when its span [start, end] meets the
interval (a track without times never does), and `bbox` when its lines intersect the box.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from shapely.geometry import box, shape

from vuonso.gis import tracks
from vuonso.gis.ogc.model import (
    CollectionInfo,
    Extent,
    FilterParam,
    Interval,
    ItemsQuery,
    Page,
    PropertyInfo,
    Workspace,
)
from vuonso.gis.ogc.sql import time_text

INFO = CollectionInfo(
    id="tracks",
    title_key="gis.ogc.tracks.title",
    description_key="gis.ogc.tracks.description",
    geometry_type="MultiLineString",
    properties=(
        PropertyInfo("worker", "string", "gis.ogc.property.worker"),
        PropertyInfo("device_id", "string", "gis.ogc.property.device_id"),
        PropertyInfo("name", "string", "gis.ogc.property.name"),
        PropertyInfo("source_file", "string", "gis.ogc.property.source_file"),
        PropertyInfo("segments", "integer", "gis.ogc.property.segments"),
        PropertyInfo("points", "integer", "gis.ogc.property.points"),
        PropertyInfo("length_m", "number", "gis.ogc.property.length_m", unit="m"),
        PropertyInfo("start", "date-time", "gis.ogc.property.start"),
        PropertyInfo("end", "date-time", "gis.ogc.property.end"),
        PropertyInfo("imported_at", "date-time", "gis.ogc.property.imported_at"),
    ),
    temporal=True,
    filters=(FilterParam("worker"),),
)
# Tracks read per list_tracks call while scanning a workspace.
_BATCH = 500


def _meets(row: dict[str, Any], interval: Interval) -> bool:
    start: datetime | None = row["start"]
    end: datetime | None = row["end"]
    if start is None or end is None:
        return False
    if interval.end is not None and start > interval.end:
        return False
    return not (interval.start is not None and end < interval.start)


def _feature(row: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": int(row["id"]),
        "geometry": geometry,
        "properties": {
            "worker": row["worker"],
            "device_id": row["device_id"],
            "name": row["name"],
            "source_file": row["source_file"],
            "segments": int(row["segments"]),
            "points": int(row["points"]),
            "length_m": round(float(row["length_m"]), 1),
            "start": time_text(row["start"]),
            "end": time_text(row["end"]),
            "imported_at": time_text(row["imported_at"]),
        },
    }


class TrackSource:
    """GPS tracks of one workspace, newest import first; the feature id is the track id.

    NOTE: every request lists all tracks of the workspace, and a bbox filter or the extent reads
    each track's lines, one query per track. That is fine for hundreds of tracks; beyond that
    gis.tracks needs a function that filters by bbox and time in SQL.
    """

    info = INFO

    def _rows(self, conn: psycopg.Connection, workspace: Workspace,
              worker: str | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            batch = tracks.list_tracks(conn, worker=worker, workspace=workspace.code,
                                       limit=_BATCH, offset=offset)
            yield from batch
            if len(batch) < _BATCH:
                return
            offset += _BATCH

    @staticmethod
    def _geometry(conn: psycopg.Connection, track_id: int) -> dict[str, Any] | None:
        geometry: dict[str, Any] = tracks.track_feature(conn, track_id)["geometry"]
        return geometry if geometry.get("coordinates") else None

    def extent(self, conn: psycopg.Connection, workspace: Workspace) -> Extent:
        bounds: list[tuple[float, float, float, float]] = []
        starts: list[datetime] = []
        ends: list[datetime] = []
        for row in self._rows(conn, workspace):
            geometry = self._geometry(conn, int(row["id"]))
            if geometry is not None:
                bounds.append(shape(geometry).bounds)
            if row["start"] is not None:
                starts.append(row["start"])
            if row["end"] is not None:
                ends.append(row["end"])
        spatial = None
        if bounds:
            spatial = (min(b[0] for b in bounds), min(b[1] for b in bounds),
                       max(b[2] for b in bounds), max(b[3] for b in bounds))
        return Extent(spatial, min(starts, default=None), max(ends, default=None))

    def page(self, conn: psycopg.Connection, workspace: Workspace, query: ItemsQuery) -> Page:
        """Return one page of tracks that meet the query, newest import first."""
        area = None if query.bbox is None else box(*query.bbox.as_list())
        matched: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        for row in self._rows(conn, workspace, query.filters.get("worker")):
            if query.interval is not None and not _meets(row, query.interval):
                continue
            if area is None:
                matched.append((row, None))
                continue
            geometry = self._geometry(conn, int(row["id"]))
            if geometry is not None and shape(geometry).intersects(area):
                matched.append((row, geometry))

        chosen = matched[query.offset:query.offset + query.limit]
        features = [
            _feature(row, geometry if area is not None else self._geometry(conn, int(row["id"])))
            for row, geometry in chosen
        ]
        return Page(features, len(matched))

    def feature(self, conn: psycopg.Connection, workspace: Workspace,
                feature_id: str) -> dict[str, Any] | None:
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 18:
            return None
        for row in self._rows(conn, workspace):
            if row["id"] == int(feature_id):
                return _feature(row, self._geometry(conn, int(feature_id)))
        return None
