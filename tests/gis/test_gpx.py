"""GPX reader: real files checked against gpxpy and geographiclib, hard cases and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import gpxpy
import pytest
from click.testing import CliRunner
from geographiclib.geodesic import Geodesic

from tests.conftest import SHARED_DATA, shared_data
from vuonso.gis.cli_tracks import gpx_summary_command
from vuonso.gis.gpx import GpxInvalid, parse_gpx, parse_gpx_time, summarize

GPX_FOLDER = SHARED_DATA / "gpx-gpxpy"
GPX_FILES = sorted(p.name for p in GPX_FOLDER.glob("*.gpx")) or ["(data absent)"]
TRACK_KEYS = {"name", "segments", "points", "length_m", "start", "end"}
# gpxpy 1.6 drops the fraction of a second from times that carry an offset. Its start and end
# may therefore be up to one second earlier than ours, so exact fractions are checked below.
TIME_TOLERANCE = timedelta(seconds=1)


def _geodesic_length(points: list[tuple[float, float]]) -> float:
    """Sum of WGS 84 geodesic distances between consecutive (lat, lon) points."""
    return sum(Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1])["s12"]
               for a, b in pairwise(points))


def _gpx(body: str, version: str = "1.1") -> bytes:
    namespace = f"http://www.topografix.com/GPX/1/{version[-1]}"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<gpx version="{version}" creator="test" xmlns="{namespace}">\n{body}\n</gpx>\n'
            ).encode()


@pytest.mark.parametrize("name", GPX_FILES)
def test_gpx_file_matches_gpxpy(name: str) -> None:
    path = shared_data("gpx-gpxpy", name)
    data = path.read_bytes()
    summary = summarize(parse_gpx(data, source=name))
    reference = gpxpy.parse(data.decode("utf-8-sig"))

    assert len(summary["tracks"]) == len(reference.tracks)
    for ours, theirs in zip(summary["tracks"], reference.tracks, strict=True):
        assert set(ours) == TRACK_KEYS
        assert ours["name"] == (theirs.name or None)
        assert ours["segments"] == len(theirs.segments)
        assert ours["points"] == sum(len(s.points) for s in theirs.segments)
        expected_length = sum(_geodesic_length([(p.latitude, p.longitude) for p in s.points])
                              for s in theirs.segments)
        assert ours["length_m"] == pytest.approx(expected_length, rel=1e-3, abs=1e-3)

        times = [p.time for s in theirs.segments for p in s.points if p.time is not None]
        if not times:
            assert ours["start"] is None
            assert ours["end"] is None
            continue
        start = datetime.fromisoformat(ours["start"])
        end = datetime.fromisoformat(ours["end"])
        assert start.utcoffset() == timedelta(0)
        assert end.utcoffset() == timedelta(0)
        assert timedelta(0) <= start - min(times) < TIME_TOLERANCE
        assert timedelta(0) <= end - max(times) < TIME_TOLERANCE

    assert len(summary["routes"]) == len(reference.routes)
    for ours_route, their_route in zip(summary["routes"], reference.routes, strict=True):
        assert ours_route["points"] == len(their_route.points)
        expected = _geodesic_length([(p.latitude, p.longitude) for p in their_route.points])
        assert ours_route["length_m"] == pytest.approx(expected, rel=1e-3, abs=1e-3)


def test_offset_times_keep_milliseconds_in_utc() -> None:
    path = shared_data("gpx-gpxpy", "track-with-less-sec-time.gpx")
    track = summarize(parse_gpx(path.read_bytes()))["tracks"][0]
    assert track["start"] == "2015-12-11T14:43:13Z"
    assert track["end"] == "2015-12-11T14:43:13.994000Z"


def test_bogus_1901_times_parse_to_microseconds() -> None:
    path = shared_data("gpx-gpxpy", "Mojstrovka.gpx")
    document = parse_gpx(path.read_bytes())
    first = document.tracks[0].segments[0][0]
    assert document.version == "1.0"
    assert first.time == datetime(1901, 12, 13, 20, 45, 52, 207343, tzinfo=UTC)


@pytest.mark.parametrize("name", ["unicode_with_bom.gpx", "unicode_with_bom_noencoding.gpx"])
def test_bom_files_keep_waypoint_names(name: str) -> None:
    document = parse_gpx(shared_data("gpx-gpxpy", name).read_bytes())
    assert len(document.waypoints) == 1
    assert document.waypoints[0].name is not None


def test_garmin_extensions_are_skipped() -> None:
    document = parse_gpx(shared_data("gpx-gpxpy", "gpx_with_garmin_extension.gpx").read_bytes())
    assert document.waypoints[0].elevation_m == 3.4
    assert document.waypoints[0].time == datetime(2016, 6, 17, 23, 41, 3, tzinfo=UTC)


def test_segments_are_not_bridged() -> None:
    # Two short segments about 111 km apart: the track length is only the two short lengths.
    body = """<trk><name>split</name>
      <trkseg><trkpt lat="10.0" lon="106.0"/><trkpt lat="10.0001" lon="106.0"/></trkseg>
      <trkseg><trkpt lat="11.0" lon="106.0"/><trkpt lat="11.0001" lon="106.0"/></trkseg>
    </trk>"""
    track = summarize(parse_gpx(_gpx(body)))["tracks"][0]
    each = [_geodesic_length([(10.0, 106.0), (10.0001, 106.0)]),
            _geodesic_length([(11.0, 106.0), (11.0001, 106.0)])]
    assert track["segments"] == 2
    assert track["points"] == 4
    assert track["length_m"] == pytest.approx(sum(each), abs=1e-3)
    assert track["length_m"] < 100


def test_points_without_times_give_null_span() -> None:
    body = '<trk><trkseg><trkpt lat="1" lon="2"/><trkpt lat="1.001" lon="2"/></trkseg></trk>'
    track = summarize(parse_gpx(_gpx(body, "1.0")))["tracks"][0]
    assert track["start"] is None
    assert track["end"] is None
    assert track["points"] == 2


def test_foreign_namespace_elements_are_ignored_in_gpx_10() -> None:
    body = """<trk><trkseg><trkpt lat="1" lon="2"><x:speed xmlns:x="urn:other">bad</x:speed>
      <speed>1.5</speed></trkpt></trkseg></trk>"""
    point = parse_gpx(_gpx(body, "1.0")).tracks[0].segments[0][0]
    assert point.speed_mps == 1.5


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01T06:30:00Z", datetime(2024, 5, 1, 6, 30, tzinfo=UTC)),
    ("2024-05-01T13:30:00+07:00", datetime(2024, 5, 1, 6, 30, tzinfo=UTC)),
    ("2024-05-01T03:00:00-03:30", datetime(2024, 5, 1, 6, 30, tzinfo=UTC)),
    ("2024-05-01T06:30:00", datetime(2024, 5, 1, 6, 30, tzinfo=UTC)),
    ("2024-05-01T06:30:00.5Z", datetime(2024, 5, 1, 6, 30, 0, 500000, tzinfo=UTC)),
    ("1901-12-13T20:45:52.2073437Z", datetime(1901, 12, 13, 20, 45, 52, 207343, tzinfo=UTC)),
    (" 2024-05-01T06:30:00+0700 ", datetime(2024, 4, 30, 23, 30, tzinfo=UTC)),
])
def test_gpx_time_forms(text: str, expected: datetime) -> None:
    assert parse_gpx_time(text) == expected


@pytest.mark.parametrize("text", ["2024-05-01", "2024-13-01T00:00:00Z", "yesterday",
                                  "2024-05-01T06:30:00+25:00"])
def test_gpx_time_rejects_invalid(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_gpx_time(text)


@pytest.mark.parametrize(("data", "line", "fragment"), [
    (b"this is not xml", 1, "not well-formed XML"),
    (b"<gpx><trk>\n<trkseg>\n</trk></gpx>", 3, "not well-formed XML"),
    (b'<kml xmlns="http://www.opengis.net/kml/2.2"/>', 1, "not <gpx>"),
    (b'<gpx xmlns="http://example.com/other"/>', 1, "not <gpx>"),
    (_gpx('<trk><trkseg>\n<trkpt lat="95.2" lon="10"/></trkseg></trk>'), 4, "lat='95.2'"),
    (_gpx('<wpt lat="10" lon="-181"/>'), 3, "lon='-181'"),
    (_gpx('<wpt lat="10"/>'), 3, "no lon attribute"),
    (_gpx('<wpt lat="ten" lon="1"/>'), 3, "lat='ten'"),
    (_gpx('<wpt lat="1" lon="1">\n<time>noon</time></wpt>'), 4, "invalid <time>"),
    (_gpx('<wpt lat="1" lon="1">\n<ele>high</ele></wpt>'), 4, "<ele>"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY a "b">]>\n<gpx/>', 2, "DOCTYPE"),
])
def test_malformed_gpx_names_line(data: bytes, line: int, fragment: str) -> None:
    with pytest.raises(GpxInvalid) as raised:
        parse_gpx(data, source="bad.gpx")
    assert raised.value.line == line
    assert fragment in raised.value.message
    assert raised.value.message.startswith(f"bad.gpx, line {line}: ")


def test_gpx_summary_command_prints_json(tmp_path: Path) -> None:
    body = """<trk><name>Lô A</name><trkseg>
      <trkpt lat="11.54" lon="106.89"><time>2025-03-01T06:30:00+07:00</time></trkpt>
      <trkpt lat="11.541" lon="106.89"><time>2025-03-01T06:31:00+07:00</time></trkpt>
    </trkseg></trk>
    <rte><rtept lat="11.54" lon="106.89"/><rtept lat="11.55" lon="106.89"/></rte>"""
    path = tmp_path / "walk.gpx"
    path.write_bytes(_gpx(body))
    result = CliRunner().invoke(gpx_summary_command, [str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["tracks"] == [{
        "name": "Lô A", "segments": 1, "points": 2,
        "length_m": pytest.approx(_geodesic_length([(11.54, 106.89), (11.541, 106.89)]), abs=1e-3),
        "start": "2025-02-28T23:30:00Z", "end": "2025-02-28T23:31:00Z",
    }]
    assert summary["routes"][0]["points"] == 2


def test_gpx_summary_command_reports_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.gpx"
    path.write_bytes(b"<gpx><wpt lat='99' lon='0'/></gpx>")
    result = CliRunner().invoke(gpx_summary_command, [str(path)])
    assert isinstance(result.exception, GpxInvalid)
    assert "bad.gpx, line 1" in str(result.exception)
