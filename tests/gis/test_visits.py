"""Plot visits: a synthetic walk across two adjacent plots, gaps, flags, days and tracks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import psycopg
import pytest
from geographiclib.geodesic import Geodesic
from shapely.geometry import box

from vuonso.gis.fixes import Fix, assign_device, store_fixes
from vuonso.gis.plots import PlotFields, create_company, create_farm, create_plot
from vuonso.gis.tracks import import_gpx
from vuonso.gis.visits import Position, build_visits, day_bounds, visits_report, worker_visits

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2025, 3, 1)
START = datetime(2025, 3, 1, 8, 0, tzinfo=ZONE)
LAT = 11.5405
# Plot A spans lon 106.8900-106.8910 and plot B 106.8910-106.8920, both lat 11.5400-11.5410.
WEST, MIDDLE, EAST = 106.8900, 106.8910, 106.8920
STEP_S = 10


def _plots(db: psycopg.Connection) -> tuple[int, int]:
    company = create_company(db, "CT-V", "Công ty thử nghiệm")
    farm = create_farm(db, company, "NT-V", "Nông trường thử nghiệm")
    plot_a = create_plot(db, farm, PlotFields(code="A", crop="rubber"),
                         box(WEST, 11.5400, MIDDLE, 11.5410))
    plot_b = create_plot(db, farm, PlotFields(code="B", crop="rubber"),
                         box(MIDDLE, 11.5400, EAST, 11.5410))
    return plot_a, plot_b


def _walk_lons() -> list[float]:
    """Longitudes every 0.0001 degree from west of A to east of B, never on a boundary."""
    return [round(106.88955 + i * 0.0001, 5) for i in range(32)]


def _walk(device: str = "phone-1", start: datetime = START) -> list[Fix]:
    return [Fix(device, start + timedelta(seconds=STEP_S * i), LAT, lon, 5.0)
            for i, lon in enumerate(_walk_lons())]


def _length(lons: list[float]) -> float:
    return sum(Geodesic.WGS84.Inverse(LAT, a, LAT, b)["s12"]
               for a, b in pairwise(lons))


def test_walk_across_two_plots(db: psycopg.Connection) -> None:
    plot_a, plot_b = _plots(db)
    assign_device(db, "phone-1", "NV-7")
    store_fixes(db, _walk())

    visits = worker_visits(db, "NV-7", DAY)
    lons = _walk_lons()
    in_a = [lon for lon in lons if WEST < lon < MIDDLE]
    in_b = [lon for lon in lons if MIDDLE < lon < EAST]
    assert [v.plot_id for v in visits] == [plot_a, plot_b]
    first_a = lons.index(in_a[0])
    first_b = lons.index(in_b[0])

    assert visits[0].entered_at == START + timedelta(seconds=STEP_S * first_a)
    assert visits[0].exited_at == START + timedelta(seconds=STEP_S * (first_a + len(in_a) - 1))
    assert visits[0].duration_s == STEP_S * (len(in_a) - 1)
    assert visits[0].distance_m == pytest.approx(_length(in_a), rel=1e-6)
    assert visits[0].positions == len(in_a)
    assert visits[0].source == "device:phone-1"

    assert visits[1].entered_at == START + timedelta(seconds=STEP_S * first_b)
    assert visits[1].duration_s == STEP_S * (len(in_b) - 1)
    assert visits[1].distance_m == pytest.approx(_length(in_b), rel=1e-6)


def test_gap_over_threshold_splits_visit(db: psycopg.Connection) -> None:
    plot_a, _ = _plots(db)
    assign_device(db, "phone-1", "NV-7")
    inside = [106.8902, 106.8903, 106.8904]
    fixes = [Fix("phone-1", START + timedelta(seconds=s), LAT, lon, 5.0)
             for s, lon in zip((0, 10, 10 + 301), inside, strict=True)]
    store_fixes(db, fixes)

    visits = worker_visits(db, "NV-7", DAY)
    assert [(v.plot_id, v.positions) for v in visits] == [(plot_a, 2), (plot_a, 1)]
    assert len(worker_visits(db, "NV-7", DAY, max_gap_s=400)) == 1


def test_flagged_fixes_are_left_out(db: psycopg.Connection) -> None:
    plot_a, _ = _plots(db)
    assign_device(db, "phone-1", "NV-7")
    store_fixes(db, [
        Fix("phone-1", START, LAT, 106.8902, 5.0),
        Fix("phone-1", START + timedelta(seconds=10), LAT, 106.8903, 5.0),
        # Poor accuracy inside plot B: stored and flagged, but not a visit.
        Fix("phone-1", START + timedelta(seconds=20), LAT, 106.8915, 80.0),
    ])
    visits = worker_visits(db, "NV-7", DAY)
    assert [v.plot_id for v in visits] == [plot_a]
    stored = db.execute("SELECT count(*) FROM gis.fixes").fetchone()
    assert stored == (3,)


def test_local_day_bounds_select_fixes(db: psycopg.Connection) -> None:
    _plots(db)
    assign_device(db, "phone-1", "NV-7")
    late_previous_day = datetime(2025, 2, 28, 23, 59, tzinfo=ZONE)
    store_fixes(db, _walk(start=late_previous_day - timedelta(minutes=10)))
    assert worker_visits(db, "NV-7", DAY) == []
    assert len(worker_visits(db, "NV-7", date(2025, 2, 28))) == 2


def test_day_bounds_use_local_midnight() -> None:
    start, end = day_bounds(DAY, "Asia/Ho_Chi_Minh")
    assert start.isoformat() == "2025-02-28T17:00:00+00:00"
    assert end - start == timedelta(days=1)


def test_other_workers_fixes_are_ignored(db: psycopg.Connection) -> None:
    _plots(db)
    assign_device(db, "phone-2", "NV-8")
    store_fixes(db, _walk(device="phone-2"))
    assert worker_visits(db, "NV-7", DAY) == []
    assert len(worker_visits(db, "NV-8", DAY)) == 2


def test_imported_track_counts_as_visits(db: psycopg.Connection) -> None:
    plot_a, plot_b = _plots(db)
    points = "".join(
        f'<trkpt lat="{LAT}" lon="{lon}"><time>{(START + timedelta(seconds=10 * i)).isoformat()}'
        "</time></trkpt>"
        for i, lon in enumerate(_walk_lons())
    )
    gpx = ('<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
           f"<trk><trkseg>{points}</trkseg></trk></gpx>").encode()
    result = import_gpx(db, gpx, worker="NV-9")
    visits = worker_visits(db, "NV-9", DAY)
    assert [v.plot_id for v in visits] == [plot_a, plot_b]
    assert {v.source for v in visits} == {f"track:{result.track_ids[0]}:0"}


def test_report_totals_per_plot(db: psycopg.Connection) -> None:
    plot_a, plot_b = _plots(db)
    assign_device(db, "phone-1", "NV-7")
    store_fixes(db, _walk())
    report = visits_report(db, "NV-7", DAY)
    assert report["date"] == "2025-03-01"
    assert report["max_gap_s"] == 300
    assert [v["plot_code"] for v in report["visits"]] == ["A", "B"]
    assert report["visits"][0]["entered_at"].endswith("+07:00")
    assert [(p["plot_id"], p["visits"]) for p in report["plots"]] == [(plot_a, 1), (plot_b, 1)]
    assert report["plots"][0]["duration_s"] == 90


@pytest.mark.parametrize(("plots", "expected"), [
    ([None, None], []),
    ([1, 1, 1], [(1, 3)]),
    ([1, None, 1], [(1, 1), (1, 1)]),
    ([1, 2, 1], [(1, 1), (2, 1), (1, 1)]),
    ([None, 2, 2, None], [(2, 2)]),
])
def test_build_visits_cases(plots: list[int | None], expected: list[tuple[int, int]]) -> None:
    run = [Position(START + timedelta(seconds=10 * i), 106.89 + i * 1e-5, LAT, plot)
           for i, plot in enumerate(plots)]
    visits = build_visits(run, source="test")
    assert [(v.plot_id, v.positions) for v in visits] == expected
