"""Readings of a plot: the latest value per metric and a time series, raw or per local hour/day."""

from datetime import datetime, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Path, Query

from vuonso.api.deps import ConnDep, SettingsDep
from vuonso.api.params import aware_time_query
from vuonso.core.errors import InvalidInput
from vuonso.gis.plots import get_plot
from vuonso.ingest import queries

router = APIRouter(prefix="/api/plots", tags=["readings"])

# Range used when `from` is missing, per bucket: about one screen of points each.
DEFAULT_SPAN = {"raw": timedelta(days=1), "1h": timedelta(days=7), "1d": timedelta(days=30)}


FromQuery = Annotated[datetime | None, aware_time_query(
    "from", "Start of the range (included), ISO 8601 with a UTC offset; default depends on bucket")]
ToQuery = Annotated[datetime | None, aware_time_query(
    "to", "End of the range (excluded), ISO 8601 with a UTC offset; default now")]
PlotId = Annotated[int, Path(ge=1, description="Plot id")]


def _zone(settings_zone: str, requested: str | None) -> str:
    if requested is None:
        return settings_zone
    try:
        ZoneInfo(requested)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"tz={requested!r} is not an IANA time zone such as Asia/Ho_Chi_Minh",
                           key="api.readings.timezone_unknown", value=requested) from exc
    return requested


@router.get("/{plot_id}/readings/latest", summary="Latest reading of each metric in a plot")
def latest_readings(plot_id: PlotId, conn: ConnDep, settings: SettingsDep) -> dict[str, Any]:
    get_plot(conn, plot_id)
    latest = queries.latest_by_metric(conn, plot_id, timezone=settings.timezone)
    return {
        "plot_id": plot_id,
        "timezone": settings.timezone,
        "readings": [
            {"metric": item.metric, "value": item.value, "unit": item.unit,
             "time": item.time.isoformat(), "device_id": item.device_id}
            for item in latest
        ],
    }


@router.get("/{plot_id}/readings", summary="Time series of one metric in a plot")
def reading_series(
    plot_id: PlotId,
    conn: ConnDep,
    settings: SettingsDep,
    metric: Annotated[str, Query(description="Metric name, e.g. soil_moisture_20cm")],
    start: FromQuery = None,
    end: ToQuery = None,
    bucket: Annotated[str, Query(description=(
        "raw, 1h or 1d; 1h and 1d give avg, min, max, sum and count per local hour or local day. "
        "avg, min, max and count cover every reading of the plot's devices; sum is the mean over "
        "the devices that reported in the bucket of each device's sum, such as the plot's "
        "rainfall from several rain gauges"))] = "raw",
    tz: Annotated[str | None, Query(description="IANA time zone of the buckets and returned "
                                                "times; default the plantation's")] = None,
) -> dict[str, Any]:
    zone = _zone(settings.timezone, tz)
    get_plot(conn, plot_id)

    # Defaults, then the range rules of the readings store with translated messages.
    end = end or datetime.now(ZoneInfo(zone))
    if start is None:
        start = end - DEFAULT_SPAN.get(bucket, timedelta(days=1))
    problem = queries.range_problem(start, end, bucket, names=("from", "to"))
    if problem is not None:
        raise InvalidInput(problem.message, key=f"api.readings.{problem.reason}",
                           problems=[{"reason": problem.reason, "message": problem.message}],
                           **problem.params)

    if not queries.metric_known(conn, plot_id, metric):
        listing = ", ".join(queries.known_metrics(conn, plot_id))
        raise InvalidInput(f"unknown metric {metric!r} for plot {plot_id}; known: {listing}; "
                           "soil metrics may end in a depth such as _20cm",
                           key="api.readings.metric_unknown", metric=metric, known=listing)

    result = queries.series(conn, plot_id, metric, start, end,
                            bucket=cast(queries.Bucket, bucket), timezone=zone)
    return {
        "plot_id": plot_id,
        "metric": metric,
        "unit": result.unit,
        "bucket": result.bucket,
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "timezone": zone,
        "truncated": result.truncated,
        "points": [_point(point) for point in result.points],
    }


def _point(point: queries.RawPoint | queries.BucketPoint) -> dict[str, Any]:
    if isinstance(point, queries.RawPoint):
        return {"time": point.time.isoformat(), "value": point.value, "device_id": point.device_id}
    return {"time": point.time.isoformat(), "avg": point.avg, "min": point.min, "max": point.max,
            "sum": point.sum, "count": point.count}
