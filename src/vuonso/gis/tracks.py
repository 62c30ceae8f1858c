"""Import GPX tracks for a worker and read them back.

Each `<trk>` becomes a row of gis.tracks, each `<trkseg>` a row of gis.track_segments with its
own line and geodesic length, and each `<trkpt>` a row of gis.track_points. Routes and waypoints
are not stored, because they are plans and marks, not walked paths. Importing the same file again
for the same worker returns the tracks stored the first time.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from shapely import wkb
from shapely.geometry import LineString

from vuonso.core.errors import NotFoundError
from vuonso.gis.errors import ImportFailed
from vuonso.gis.fixes import IDENTIFIER, WORKER, FixInvalid
from vuonso.gis.gpx import GpxPoint, GpxTrack, parse_gpx, segment_length_m, summarize
from vuonso.gis.plots import workspace_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Ids of the file's tracks in file order, how many were new, and the file's summary."""

    track_ids: list[int]
    created: int
    summary: dict[str, Any]


def import_gpx(conn: psycopg.Connection, data: bytes, *, worker: str,
               source_file: str | None = None, device: str | None = None,
               workspace: str = "production") -> ImportResult:
    """Parse a GPX file and store its tracks for a worker in one transaction.

    Raises GpxInvalid for a malformed file and ImportFailed when it has no track.
    """
    if not WORKER.match(worker):
        raise FixInvalid(f"worker id {worker!r} is invalid; use 1-64 letters, digits and "
                         ". _ : @ -", key="gis.tracks.worker_invalid", worker=worker)
    if device is not None and not IDENTIFIER.match(device):
        raise FixInvalid(f"device id {device!r} is invalid; use 1-64 letters, digits and "
                         ". _ : -", key="gis.tracks.device_invalid", device=device)
    label = source_file or "GPX"
    document = parse_gpx(data, source=label)
    if not document.tracks:
        raise ImportFailed(f"{label}: the file contains no <trk> track; routes and waypoints "
                           "are not imported as tracks", key="gis.tracks.no_tracks", source=label)
    digest = hashlib.sha256(data).hexdigest()

    track_ids: list[int] = []
    created = 0
    with conn.transaction():
        workspace_key = workspace_id(conn, workspace)
        if device is not None:
            conn.execute(
                "INSERT INTO gis.gps_devices (device_id, workspace_id) VALUES (%s, %s)"
                " ON CONFLICT (device_id) DO NOTHING",
                (device, workspace_key),
            )
        for index, track in enumerate(document.tracks):
            existing = conn.execute(
                "SELECT id FROM gis.tracks WHERE workspace_id = %s AND worker = %s"
                " AND source_sha256 = %s AND source_index = %s",
                (workspace_key, worker, digest, index),
            ).fetchone()
            if existing is not None:
                track_ids.append(int(existing[0]))
                continue
            track_ids.append(_insert_track(conn, track, index, workspace_key=workspace_key,
                                           worker=worker, device=device, source_file=source_file,
                                           digest=digest))
            created += 1
    log.info("imported %s for worker %s: %d new tracks, %d already stored", label, worker,
             created, len(track_ids) - created)
    return ImportResult(track_ids, created, summarize(document))


def _insert_track(conn: psycopg.Connection, track: GpxTrack, index: int, *, workspace_key: int,
                  worker: str, device: str | None, source_file: str | None, digest: str) -> int:
    row = conn.execute(
        "INSERT INTO gis.tracks (workspace_id, worker, device_id, name, source_file,"
        " source_sha256, source_index) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (workspace_key, worker, device, track.name, source_file, digest, index),
    ).fetchone()
    assert row is not None
    track_id = int(row[0])
    for seq, points in enumerate(track.segments):
        _insert_segment(conn, track_id, seq, points)
    return track_id


def _insert_segment(conn: psycopg.Connection, track_id: int, seq: int,
                    points: list[GpxPoint]) -> None:
    times = [p.time for p in points if p.time is not None]
    line = wkb.dumps(LineString([(p.lon, p.lat) for p in points])) if len(points) >= 2 else None
    row = conn.execute(
        "INSERT INTO gis.track_segments (track_id, seq, geom, length_m, points, start_time,"
        " end_time) VALUES (%s, %s, ST_SetSRID(ST_GeomFromWKB(%s), 4326), %s, %s, %s, %s)"
        " RETURNING id",
        (track_id, seq, line, segment_length_m(points), len(points),
         min(times) if times else None, max(times) if times else None),
    ).fetchone()
    assert row is not None
    if not points:
        return
    conn.execute(
        "INSERT INTO gis.track_points (segment_id, seq, time, position, elevation_m, hdop)"
        " SELECT %s, n - 1, t, ST_SetSRID(ST_MakePoint(x, y), 4326), e, h"
        " FROM unnest(%s::timestamptz[], %s::float8[], %s::float8[], %s::float8[],"
        " %s::float8[]) WITH ORDINALITY AS u(t, x, y, e, h, n)",
        (row[0], [p.time for p in points], [p.lon for p in points], [p.lat for p in points],
         [p.elevation_m for p in points], [p.hdop for p in points]),
    )


def list_tracks(conn: psycopg.Connection, *, worker: str | None = None,
                workspace: str = "production", limit: int = 100,
                offset: int = 0) -> list[dict[str, Any]]:
    """List tracks, newest import first, with segment and point counts, length (m) and span."""
    where = "t.workspace_id = %s" + ("" if worker is None else " AND t.worker = %s")
    params: list[Any] = [workspace_id(conn, workspace)]
    params += ([] if worker is None else [worker]) + [limit, offset]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT t.id, t.worker, t.device_id, t.name, t.source_file, t.imported_at,"
            " count(s.id) AS segments, coalesce(sum(s.points), 0)::int AS points,"
            " coalesce(sum(s.length_m), 0) AS length_m, min(s.start_time) AS start,"
            " max(s.end_time) AS end"
            " FROM gis.tracks t LEFT JOIN gis.track_segments s ON s.track_id = t.id"
            f" WHERE {where} GROUP BY t.id ORDER BY t.imported_at DESC, t.id DESC"
            " LIMIT %s OFFSET %s",
            params,
        ).fetchall()


def track_feature(conn: psycopg.Connection, track_id: int) -> dict[str, Any]:
    """Return a track as a GeoJSON Feature with one line per segment of two or more points."""
    with conn.cursor(row_factory=dict_row) as cur:
        track = cur.execute(
            "SELECT id, worker, device_id, name, source_file, imported_at FROM gis.tracks"
            " WHERE id = %s", (track_id,),
        ).fetchone()
        if track is None:
            raise NotFoundError(f"track {track_id} not found", key="gis.tracks.track_not_found",
                                track_id=track_id)
        segments = cur.execute(
            "SELECT seq, ST_AsGeoJSON(geom)::json AS line, length_m, points, start_time, end_time"
            " FROM gis.track_segments WHERE track_id = %s ORDER BY seq", (track_id,),
        ).fetchall()
    lines = [s["line"]["coordinates"] for s in segments if s["line"] is not None]
    properties = {key: value for key, value in track.items() if key != "id"}
    properties["imported_at"] = track["imported_at"].isoformat()
    properties["segments"] = [
        {"seq": s["seq"], "points": s["points"], "length_m": s["length_m"],
         "start": s["start_time"].isoformat() if s["start_time"] else None,
         "end": s["end_time"].isoformat() if s["end_time"] else None}
        for s in segments
    ]
    return {"type": "Feature", "id": track["id"],
            "geometry": {"type": "MultiLineString", "coordinates": lines},
            "properties": properties}

