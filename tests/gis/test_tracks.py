"""GPX import: tracks, segments and points stored separately, once per file and worker."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import shared_data
from vuonso.core.errors import NotFoundError
from vuonso.gis.errors import ImportFailed
from vuonso.gis.fixes import FixInvalid
from vuonso.gis.gpx import GpxInvalid
from vuonso.gis.tracks import import_gpx, list_tracks, track_feature

TWO_SEGMENTS = b"""<?xml version="1.0"?>
<gpx version="1.0" creator="test" xmlns="http://www.topografix.com/GPX/1/0">
<trk><name>morning</name>
<trkseg>
<trkpt lat="11.5400" lon="106.8900"><ele>80</ele><time>2025-03-01T07:00:00+07:00</time></trkpt>
<trkpt lat="11.5401" lon="106.8900"><time>2025-03-01T07:00:10+07:00</time></trkpt>
</trkseg>
<trkseg>
<trkpt lat="11.6400" lon="106.8900"/>
<trkpt lat="11.6401" lon="106.8900"/>
<trkpt lat="11.6402" lon="106.8900"/>
</trkseg>
<trkseg></trkseg>
</trk>
<rte><rtept lat="11.5" lon="106.8"/></rte>
</gpx>
"""


def test_import_keeps_segments_apart(db: psycopg.Connection) -> None:
    result = import_gpx(db, TWO_SEGMENTS, worker="NV-1", source_file="walk.gpx", device="gps-1")
    assert result.created == 1
    [track_id] = result.track_ids
    segments = db.execute(
        "SELECT seq, points, length_m, ST_NPoints(geom), start_time, end_time"
        " FROM gis.track_segments WHERE track_id = %s ORDER BY seq", (track_id,),
    ).fetchall()
    summary = result.summary["tracks"][0]
    assert [s[1] for s in segments] == [2, 3, 0]
    assert [s[3] for s in segments] == [2, 3, None]
    assert sum(s[2] for s in segments) == pytest.approx(summary["length_m"], abs=1e-3)
    # The 11 km between the segments is not counted.
    assert summary["length_m"] < 50
    assert segments[0][4].isoformat() == "2025-03-01T00:00:00+00:00"
    assert segments[1][4] is None


def test_import_stores_points_with_null_times(db: psycopg.Connection) -> None:
    import_gpx(db, TWO_SEGMENTS, worker="NV-1")
    rows = db.execute(
        "SELECT s.seq, p.seq, p.time IS NULL, ST_Y(p.position), p.elevation_m"
        " FROM gis.track_points p JOIN gis.track_segments s ON s.id = p.segment_id"
        " ORDER BY s.seq, p.seq"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (0, 0, False), (0, 1, False), (1, 0, True), (1, 1, True), (1, 2, True)]
    assert rows[0][3] == 11.54
    assert rows[0][4] == 80.0


def test_reimport_returns_same_tracks(db: psycopg.Connection) -> None:
    first = import_gpx(db, TWO_SEGMENTS, worker="NV-1")
    second = import_gpx(db, TWO_SEGMENTS, worker="NV-1")
    other_worker = import_gpx(db, TWO_SEGMENTS, worker="NV-2")
    assert second.track_ids == first.track_ids
    assert second.created == 0
    assert other_worker.created == 1
    assert db.execute("SELECT count(*) FROM gis.tracks").fetchone() == (2,)


def test_import_real_file_matches_summary(db: psycopg.Connection) -> None:
    path = shared_data("gpx-gpxpy", "korita-zbevnica.gpx")
    result = import_gpx(db, path.read_bytes(), worker="NV-1", source_file=path.name)
    listed = {row["id"]: row for row in list_tracks(db, worker="NV-1")}
    assert len(result.track_ids) == len(result.summary["tracks"])
    for track_id, summary in zip(result.track_ids, result.summary["tracks"], strict=True):
        row = listed[track_id]
        assert row["segments"] == summary["segments"]
        assert row["points"] == summary["points"]
        assert row["length_m"] == pytest.approx(summary["length_m"], abs=1e-3)
        assert (row["start"] is None) == (summary["start"] is None)


def test_track_feature_has_one_line_per_segment(db: psycopg.Connection) -> None:
    [track_id] = import_gpx(db, TWO_SEGMENTS, worker="NV-1").track_ids
    feature = track_feature(db, track_id)
    assert feature["geometry"]["type"] == "MultiLineString"
    assert [len(line) for line in feature["geometry"]["coordinates"]] == [2, 3]
    assert feature["properties"]["name"] == "morning"
    assert len(feature["properties"]["segments"]) == 3


def test_track_feature_unknown_id(db: psycopg.Connection) -> None:
    with pytest.raises(NotFoundError):
        track_feature(db, 999)


def test_file_without_tracks_is_rejected(db: psycopg.Connection) -> None:
    route_only = (b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                  b'<rte><rtept lat="1" lon="2"/></rte></gpx>')
    with pytest.raises(ImportFailed, match="no <trk> track"):
        import_gpx(db, route_only, worker="NV-1", source_file="route.gpx")


def test_malformed_file_stores_nothing(db: psycopg.Connection) -> None:
    broken = TWO_SEGMENTS.replace(b'lat="11.6401"', b'lat="191.6401"')
    with pytest.raises(GpxInvalid, match="line 10"):
        import_gpx(db, broken, worker="NV-1", source_file="walk.gpx")
    assert db.execute("SELECT count(*) FROM gis.tracks").fetchone() == (0,)


def test_invalid_worker_is_rejected(db: psycopg.Connection) -> None:
    with pytest.raises(FixInvalid, match="worker id"):
        import_gpx(db, TWO_SEGMENTS, worker="bad worker")
