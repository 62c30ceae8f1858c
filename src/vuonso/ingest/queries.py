"""Read functions on ingest.readings: the latest value per metric and time series of one plot.

The same SQL serves both shapes of the table (native monthly partitions or a TimescaleDB
hypertable), so buckets come from date_trunc with a time zone and never from time_bucket.
Returned times are converted to the requested time zone, so they carry its offset (+07:00 for
Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from vuonso.core.errors import InvalidInput
from vuonso.ingest import metrics
from vuonso.ingest.errors import DecodeError

Bucket = Literal["raw", "1h", "1d"]
RangeReason = Literal["bucket_unknown", "time_naive", "range_reversed", "span_too_large"]
BUCKETS: tuple[Bucket, ...] = ("raw", "1h", "1d")
# date_trunc field of each aggregated bucket.
_TRUNC_FIELD = {"1h": "hour", "1d": "day"}
# Widest from/to range each bucket serves, so one response stays a bounded size.
MAX_SPAN: dict[Bucket, timedelta] = {
    "raw": timedelta(days=31),
    "1h": timedelta(days=366),
    "1d": timedelta(days=3660),
}
# Maximum number of raw readings per request. Three devices reporting each minute for 31 days
# exceed it, and the series is then marked truncated.
RAW_MAX_ROWS = 100_000

# Distinct metrics of one plot by a loose index scan on (plot_id, metric, time): each step jumps
# to the next metric instead of reading every row of the plot.
_PLOT_METRICS = """
WITH RECURSIVE metrics(metric) AS (
    (SELECT metric FROM ingest.readings WHERE plot_id = %(plot)s ORDER BY metric LIMIT 1)
    UNION ALL
    SELECT (SELECT r.metric FROM ingest.readings r
            WHERE r.plot_id = %(plot)s AND r.metric > m.metric ORDER BY r.metric LIMIT 1)
    FROM metrics m WHERE m.metric IS NOT NULL
)
"""

_LATEST = _PLOT_METRICS + """
SELECT m.metric, last.time, last.value, last.unit, last.device_id
FROM metrics m
CROSS JOIN LATERAL (
    SELECT r.time, r.value, r.unit, r.device_id FROM ingest.readings r
    WHERE r.plot_id = %(plot)s AND r.metric = m.metric
    ORDER BY r.time DESC, r.device_id LIMIT 1
) last
WHERE m.metric IS NOT NULL
ORDER BY m.metric
"""

_RAW = """
SELECT time, value, device_id, unit FROM ingest.readings
WHERE plot_id = %(plot)s AND metric = %(metric)s AND time >= %(start)s AND time < %(end)s
ORDER BY time, device_id
LIMIT %(limit)s
"""

# Aggregates per device and bucket first, then across the devices of each bucket: avg, min, max
# and count cover every reading, while sum is the mean of the devices' sums.
_BUCKETED = """
WITH per_device AS (
    SELECT date_trunc(%(field)s, time, %(zone)s) AS bucket, device_id,
           min(value) AS low, max(value) AS high, sum(value) AS total, count(*) AS readings,
           min(unit) AS unit
    FROM ingest.readings
    WHERE plot_id = %(plot)s AND metric = %(metric)s AND time >= %(start)s AND time < %(end)s
    GROUP BY bucket, device_id
)
SELECT bucket, sum(total) / sum(readings), min(low), max(high), avg(total), sum(readings),
       min(unit)
FROM per_device
GROUP BY bucket
ORDER BY bucket
"""


@dataclass(frozen=True, slots=True)
class LatestReading:
    """The most recent reading of one metric in a plot, from whichever device sent it."""

    metric: str
    time: datetime
    value: float
    unit: str
    device_id: str


@dataclass(frozen=True, slots=True)
class RawPoint:
    time: datetime
    value: float
    device_id: str


@dataclass(frozen=True, slots=True)
class BucketPoint:
    """Aggregate of the plot's readings whose time falls in [time, next bucket).

    `avg`, `min`, `max` and `count` cover every reading of every device. `sum` is the mean over
    the devices that reported in the bucket of each device's sum, so two rain gauges of one plot
    give the plot's rainfall rather than twice it. A device without readings in the bucket does
    not count towards that mean.
    """

    time: datetime
    avg: float
    min: float
    max: float
    sum: float
    count: int


@dataclass(frozen=True, slots=True)
class Series:
    """A time series of one metric in one plot over [start, end).

    `unit` comes from the readings, or from the metric registry when the range contains none, and
    is None for an unregistered metric without readings. `truncated` is true when a raw series stopped
    at RAW_MAX_ROWS readings.
    """

    plot_id: int
    metric: str
    unit: str | None
    bucket: Bucket
    start: datetime
    end: datetime
    timezone: str
    points: list[RawPoint] | list[BucketPoint]
    truncated: bool = False


def plot_metrics(conn: psycopg.Connection, plot_id: int) -> list[str]:
    """List the metrics that have at least one reading in the plot, sorted by name."""
    rows = conn.execute(
        _PLOT_METRICS + "SELECT metric FROM metrics WHERE metric IS NOT NULL ORDER BY metric",
        {"plot": plot_id},
    ).fetchall()
    return [row[0] for row in rows]


def latest_by_metric(conn: psycopg.Connection, plot_id: int, *,
                     timezone: str = "Asia/Ho_Chi_Minh") -> list[LatestReading]:
    """Return the latest reading of each metric in the plot, sorted by metric name.

    When two devices report the same metric at the same time, the lower device id wins.
    """
    zone = ZoneInfo(timezone)
    rows = conn.execute(_LATEST, {"plot": plot_id}).fetchall()
    return [
        LatestReading(metric, time.astimezone(zone), float(value), unit, device_id)
        for metric, time, value, unit, device_id in rows
    ]


def series(conn: psycopg.Connection, plot_id: int, metric: str, start: datetime, end: datetime,
           *, bucket: Bucket = "raw", timezone: str = "Asia/Ho_Chi_Minh",
           max_rows: int = RAW_MAX_ROWS) -> Series:
    """Return the readings of one metric in a plot over [start, end), raw or per bucket.

    A "1h" or "1d" bucket starts at a local hour or local midnight of `timezone` (date_trunc in
    that zone, so days follow the plantation's calendar), and aggregates every device of the plot
    as BucketPoint describes.
    Raises InvalidInput for a naive time, start after end, an unknown bucket or time zone, or a
    range wider than MAX_SPAN of the bucket.
    """
    check_range(start, end, bucket)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {timezone!r}; use an IANA name such as "
                           "Asia/Ho_Chi_Minh") from exc
    params = {"plot": plot_id, "metric": metric, "start": start, "end": end}

    if bucket == "raw":
        rows = conn.execute(_RAW, {**params, "limit": max_rows + 1}).fetchall()
        truncated = len(rows) > max_rows
        rows = rows[:max_rows]
        raw_points = [RawPoint(time.astimezone(zone), float(value), device_id)
                      for time, value, device_id, _unit in rows]
        unit = rows[0][3] if rows else registered_unit(metric)
        return Series(plot_id, metric, unit, bucket, start.astimezone(zone),
                      end.astimezone(zone), timezone, raw_points, truncated)

    rows = conn.execute(_BUCKETED, {**params, "field": _TRUNC_FIELD[bucket], "zone": timezone}
                        ).fetchall()
    bucket_points = [
        BucketPoint(time.astimezone(zone), float(avg), float(low), float(high), float(total),
                    int(count))
        for time, avg, low, high, total, count, _unit in rows
    ]
    unit = rows[0][6] if rows else registered_unit(metric)
    return Series(plot_id, metric, unit, bucket, start.astimezone(zone), end.astimezone(zone),
                  timezone, bucket_points)


@dataclass(frozen=True, slots=True)
class RangeProblem:
    """Why a series request is rejected: a stable reason code, its values and an English message."""

    reason: RangeReason
    message: str
    params: dict[str, str]


def range_problem(start: datetime, end: datetime, bucket: str, *,
                  names: tuple[str, str] = ("start", "end")) -> RangeProblem | None:
    """Return the first problem of a series request, or None when series() accepts it.

    `names` are the words used for start and end in the message, such as ("from", "to").
    """
    start_name, end_name = names
    if bucket not in BUCKETS:
        return RangeProblem("bucket_unknown",
                            f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}",
                            {"bucket": bucket, "known": ", ".join(BUCKETS)})
    for name, moment in ((start_name, start), (end_name, end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            return RangeProblem("time_naive",
                                f"{name} {moment.isoformat()} has no UTC offset; "
                                "pass a timezone-aware datetime",
                                {"parameter": name, "value": moment.isoformat()})
    if start > end:
        return RangeProblem("range_reversed",
                            f"{start_name} {start.isoformat()} is after {end_name} "
                            f"{end.isoformat()}; swap them",
                            {"start": start.isoformat(), "end": end.isoformat()})
    limit = MAX_SPAN[bucket]
    if end - start > limit:
        days = (end - start) / timedelta(days=1)
        coarser = larger_bucket(bucket) or bucket
        return RangeProblem("span_too_large",
                            f"range of {days:.1f} days is wider than {limit.days} days, the maximum "
                            f"for bucket {bucket}; use bucket {coarser} or a shorter range",
                            {"bucket": bucket, "days": f"{days:.1f}", "max_days": str(limit.days),
                             "suggestion": coarser})
    return None


def check_range(start: datetime, end: datetime, bucket: str) -> None:
    """Raise InvalidInput unless range_problem() accepts the request."""
    problem = range_problem(start, end, bucket)
    if problem is not None:
        raise InvalidInput(problem.message, problems=[{"reason": problem.reason,
                                                       "message": problem.message}])


def larger_bucket(bucket: str) -> Bucket | None:
    """Return the next coarser bucket after `bucket`, or None for the coarsest."""
    position = BUCKETS.index(bucket)
    return BUCKETS[position + 1] if position + 1 < len(BUCKETS) else None


def known_metrics(conn: psycopg.Connection, plot_id: int) -> list[str]:
    """List the registered base metrics and every metric already stored for the plot, by name."""
    return sorted(set(metrics.METRICS) | set(plot_metrics(conn, plot_id)))


def metric_known(conn: psycopg.Connection, plot_id: int, name: str) -> bool:
    """Return True when a series may be requested for `name`: a registered metric, a soil metric
    with a depth suffix such as soil_moisture_20cm, or any metric the plot has readings of."""
    return registered_unit(name) is not None or name in plot_metrics(conn, plot_id)


def registered_unit(name: str) -> str | None:
    """Canonical unit of a registered metric, or None when the registry does not know it."""
    try:
        return metrics.metric(name).unit
    except DecodeError:
        return None
