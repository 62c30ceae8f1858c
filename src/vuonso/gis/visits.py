"""Plot visits: which plots a worker entered on a local day, for how long and how far inside.

Positions come from the worker's fixes (without poor_accuracy, implausible_speed or future_time
flags) and from the timed points of GPX tracks imported for the worker. Each device and each
track segment is a separate run, never joined to another. Within a run, consecutive positions in
the same plot form one visit, and a gap longer than `max_gap_s` (default 300 s) between two of
them ends the visit. A visit enters at its first position inside the plot and exits at its last,
so its duration and distance count only what was observed inside. Plot membership uses each
plot's current boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from vuonso.gis.area import WGS84
from vuonso.gis.fixes import QUALITY_FLAGS
from vuonso.gis.plots import get_plot, workspace_id

DEFAULT_MAX_GAP_S = 300.0

# The plot containing each position, looked up among current boundaries of the run's workspace.
_PLOT_OF_POSITION = (
    "LEFT JOIN LATERAL (SELECT g.plot_id FROM gis.plot_geometries g"
    " JOIN gis.plots p ON p.id = g.plot_id"
    " WHERE g.valid_to IS NULL AND p.workspace_id = %(ws)s AND ST_Intersects(g.geom, {point})"
    " ORDER BY g.plot_id LIMIT 1) inside ON true"
)
_FIXES = (
    "SELECT 'device:' || f.device_id, f.time, ST_X(f.position), ST_Y(f.position), inside.plot_id"
    " FROM gis.fixes f JOIN gis.gps_devices d ON d.device_id = f.device_id "
    + _PLOT_OF_POSITION.format(point="f.position")
    + " WHERE f.worker = %(worker)s AND d.workspace_id = %(ws)s"
    " AND f.time >= %(start)s AND f.time < %(end)s AND NOT (f.flags && %(quality)s::text[])"
    " ORDER BY f.device_id, f.time"
)
_TRACK_POINTS = (
    "SELECT 'track:' || t.id || ':' || s.seq, tp.time, ST_X(tp.position), ST_Y(tp.position),"
    " inside.plot_id FROM gis.tracks t JOIN gis.track_segments s ON s.track_id = t.id"
    " JOIN gis.track_points tp ON tp.segment_id = s.id "
    + _PLOT_OF_POSITION.format(point="tp.position")
    + " WHERE t.worker = %(worker)s AND t.workspace_id = %(ws)s"
    " AND s.start_time < %(end)s AND s.end_time >= %(start)s"
    " AND tp.time >= %(start)s AND tp.time < %(end)s"
    " ORDER BY t.id, s.seq, tp.time"
)


@dataclass(frozen=True, slots=True)
class Position:
    """A timed position of one run and the plot containing it (None outside every plot)."""

    time: datetime
    lon: float
    lat: float
    plot_id: int | None


@dataclass(frozen=True, slots=True)
class Visit:
    """Time in one plot: first and last position inside, seconds between, metres walked inside."""

    plot_id: int
    entered_at: datetime
    exited_at: datetime
    duration_s: float
    distance_m: float
    positions: int
    source: str


def build_visits(run: Sequence[Position], *, source: str,
                 max_gap_s: float = DEFAULT_MAX_GAP_S) -> list[Visit]:
    """Cut one time-ordered run into visits. A gap over `max_gap_s` inside a plot splits one."""
    visits: list[Visit] = []
    current: list[Position] = []
    for position in run:
        if current and (position.plot_id != current[-1].plot_id
                        or (position.time - current[-1].time).total_seconds() > max_gap_s):
            visits.append(_visit(current, source))
            current = []
        if position.plot_id is not None:
            current.append(position)
    if current:
        visits.append(_visit(current, source))
    return visits


def _visit(inside: list[Position], source: str) -> Visit:
    # NOTE: GPS jitter while a worker does not move adds to the distance (a few metres per fix).
    distance = 0.0
    if len(inside) >= 2:
        distance = float(WGS84.line_length([p.lon for p in inside], [p.lat for p in inside]))
    first, last = inside[0], inside[-1]
    assert first.plot_id is not None
    return Visit(first.plot_id, first.time, last.time, (last.time - first.time).total_seconds(),
                 distance, len(inside), source)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Return the UTC instants at which a local calendar day starts and the next one starts."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def worker_visits(conn: psycopg.Connection, worker: str, day: date, *,
                  timezone: str = "Asia/Ho_Chi_Minh", max_gap_s: float = DEFAULT_MAX_GAP_S,
                  workspace: str = "production") -> list[Visit]:
    """Compute a worker's visits on a local day from fixes and imported tracks, by entry time.

    NOTE: runs are not merged, so two devices carried at once, or a GPX file of a walk that was
    also sent live, give overlapping visits that the per-plot totals count twice.
    """
    start, end = day_bounds(day, timezone)
    params = {"worker": worker, "ws": workspace_id(conn, workspace), "start": start, "end": end,
              "quality": list(QUALITY_FLAGS)}
    visits: list[Visit] = []
    for query in (_FIXES, _TRACK_POINTS):
        rows = conn.execute(query, params).fetchall()
        for source, run in _runs(rows):
            visits.extend(build_visits(run, source=source, max_gap_s=max_gap_s))
    return sorted(visits, key=lambda v: (v.entered_at, v.plot_id))


def _runs(rows: Iterable[tuple[Any, ...]]) -> Iterable[tuple[str, list[Position]]]:
    """Group rows ordered by run into (source, positions) pairs."""
    source: str | None = None
    run: list[Position] = []
    for key, moment, lon, lat, plot_id in rows:
        if key != source:
            if source is not None:
                yield source, run
            source, run = key, []
        run.append(Position(moment, lon, lat, plot_id))
    if source is not None:
        yield source, run


def visits_report(conn: psycopg.Connection, worker: str, day: date, *,
                  timezone: str = "Asia/Ho_Chi_Minh", max_gap_s: float = DEFAULT_MAX_GAP_S,
                  workspace: str = "production") -> dict[str, Any]:
    """Return a worker's visits and per-plot totals as JSON-ready data, times in local time."""
    visits = worker_visits(conn, worker, day, timezone=timezone, max_gap_s=max_gap_s,
                           workspace=workspace)
    zone = ZoneInfo(timezone)
    plots = {plot_id: get_plot(conn, plot_id) for plot_id in sorted({v.plot_id for v in visits})}

    totals: dict[int, dict[str, Any]] = {}
    for visit in visits:
        plot = plots[visit.plot_id]
        total = totals.setdefault(visit.plot_id, {
            "plot_id": visit.plot_id, "plot_code": plot["code"], "farm_code": plot["farm_code"],
            "visits": 0, "duration_s": 0.0, "distance_m": 0.0,
        })
        total["visits"] += 1
        total["duration_s"] += visit.duration_s
        total["distance_m"] += visit.distance_m
    for total in totals.values():
        total["distance_m"] = round(total["distance_m"], 1)

    return {
        "worker": worker,
        "date": day.isoformat(),
        "timezone": timezone,
        "max_gap_s": max_gap_s,
        "visits": [
            {"plot_id": v.plot_id, "plot_code": plots[v.plot_id]["code"],
             "farm_code": plots[v.plot_id]["farm_code"],
             "entered_at": v.entered_at.astimezone(zone).isoformat(),
             "exited_at": v.exited_at.astimezone(zone).isoformat(),
             "duration_s": v.duration_s, "distance_m": round(v.distance_m, 1),
             "positions": v.positions, "source": v.source}
            for v in visits
        ],
        "plots": list(totals.values()),
    }
