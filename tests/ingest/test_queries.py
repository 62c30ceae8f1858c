"""Read functions on ingest.readings: latest per metric, raw series and local-time buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from tests.api.builders import insert_readings, make_plot
from vuonso.core.errors import InvalidInput
from vuonso.ingest import queries

PLUS7 = timezone(timedelta(hours=7))


def test_latest_by_metric_newest_across_devices(db: psycopg.Connection) -> None:
    plot = make_plot(db, "A01")
    other = make_plot(db, "A02")
    t0 = datetime(2025, 3, 10, 8, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [
        (t0, "st-1", "air_temperature", 24.0, "°C"),
        (t0 + timedelta(minutes=10), "st-2", "air_temperature", 25.5, "°C"),
        (t0 + timedelta(minutes=5), "st-1", "soil_moisture_20cm", 38.2, "%"),
        (t0 - timedelta(days=40), "st-1", "soil_moisture_20cm", 30.0, "%"),
    ])
    insert_readings(db, other, [(t0 + timedelta(hours=1), "st-9", "air_temperature", 40.0, "°C")])

    latest = queries.latest_by_metric(db, plot)

    assert [item.metric for item in latest] == ["air_temperature", "soil_moisture_20cm"]
    assert latest[0].value == 25.5
    assert latest[0].device_id == "st-2"
    assert latest[0].time == t0 + timedelta(minutes=10)
    assert latest[0].time.utcoffset() == timedelta(hours=7)
    assert latest[1].value == 38.2
    assert latest[1].unit == "%"


def test_latest_by_metric_empty_plot(db: psycopg.Connection) -> None:
    assert queries.latest_by_metric(db, make_plot(db)) == []


def test_plot_metrics_distinct_and_sorted(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    t0 = datetime(2025, 3, 10, tzinfo=UTC)
    insert_readings(db, plot, [
        (t0 + timedelta(minutes=i), "st-1", metric, 1.0, "1")
        for i, metric in enumerate(["rainfall", "battery", "rainfall", "air_temperature"])
    ])
    assert queries.plot_metrics(db, plot) == ["air_temperature", "battery", "rainfall"]


def test_series_raw_half_open_and_ordered(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    start = datetime(2025, 3, 10, 0, 0, tzinfo=PLUS7)
    end = start + timedelta(hours=2)
    insert_readings(db, plot, [
        (start - timedelta(seconds=1), "st-1", "rainfall", 9.0, "mm"),
        (start + timedelta(minutes=30), "st-2", "rainfall", 0.4, "mm"),
        (start, "st-1", "rainfall", 0.2, "mm"),
        (start + timedelta(minutes=30), "st-1", "rainfall", 0.6, "mm"),
        (end, "st-1", "rainfall", 9.0, "mm"),
    ])

    result = queries.series(db, plot, "rainfall", start, end)

    assert result.unit == "mm"
    assert not result.truncated
    assert [(p.time, p.device_id, p.value) for p in result.points] == [  # type: ignore[union-attr]
        (start, "st-1", 0.2),
        (start + timedelta(minutes=30), "st-1", 0.6),
        (start + timedelta(minutes=30), "st-2", 0.4),
    ]
    assert all(p.time.utcoffset() == timedelta(hours=7) for p in result.points)


def test_series_raw_truncated_at_max_rows(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    start = datetime(2025, 3, 10, tzinfo=PLUS7)
    insert_readings(db, plot, [(start + timedelta(minutes=i), "st-1", "battery", 3.6, "V")
                               for i in range(5)])

    result = queries.series(db, plot, "battery", start, start + timedelta(hours=1), max_rows=3)

    assert result.truncated
    assert len(result.points) == 3


def test_series_hourly_aggregates(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    hour = datetime(2025, 3, 10, 14, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [
        (hour + timedelta(minutes=5), "st-1", "air_temperature", 20.0, "°C"),
        (hour + timedelta(minutes=25), "st-2", "air_temperature", 26.0, "°C"),
        (hour + timedelta(minutes=59), "st-1", "air_temperature", 23.0, "°C"),
        (hour + timedelta(minutes=60), "st-1", "air_temperature", 30.0, "°C"),
    ])

    result = queries.series(db, plot, "air_temperature", hour, hour + timedelta(hours=3),
                            bucket="1h")

    first, second = result.points
    assert isinstance(first, queries.BucketPoint)
    assert isinstance(second, queries.BucketPoint)
    assert first.time.isoformat() == "2025-03-10T14:00:00+07:00"
    assert (first.avg, first.min, first.max, first.count) == (23.0, 20.0, 26.0, 3)
    assert first.sum == 34.5  # mean of st-1's 43.0 and st-2's 26.0
    assert second.time.isoformat() == "2025-03-10T15:00:00+07:00"
    assert second.count == 1


def test_series_sum_is_mean_over_devices(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    other = make_plot(db, "B01")
    hour = datetime(2025, 3, 10, 14, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [
        (hour + timedelta(minutes=10), "gauge-1", "rainfall", 1.0, "mm"),
        (hour + timedelta(minutes=40), "gauge-1", "rainfall", 2.0, "mm"),
        (hour + timedelta(minutes=20), "gauge-2", "rainfall", 5.0, "mm"),
        # Only gauge-1 reports in the second hour.
        (hour + timedelta(minutes=70), "gauge-1", "rainfall", 0.4, "mm"),
    ])
    insert_readings(db, other, [(hour + timedelta(minutes=5), "gauge-9", "rainfall", 50.0, "mm")])

    result = queries.series(db, plot, "rainfall", hour, hour + timedelta(hours=2), bucket="1h")

    first, second = result.points
    assert isinstance(first, queries.BucketPoint)
    assert isinstance(second, queries.BucketPoint)
    assert first.sum == 4.0  # mean of gauge-1's 3.0 and gauge-2's 5.0
    assert first.count == 3
    assert first.avg == pytest.approx(8.0 / 3)
    assert (first.min, first.max) == (1.0, 5.0)
    assert second.sum == 0.4
    assert second.count == 1


def test_series_daily_splits_at_local_midnight(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    # 16:30 and 17:30 UTC on the same UTC day, but on two local days in Vietnam.
    before = datetime(2025, 3, 10, 23, 30, tzinfo=PLUS7)
    after = datetime(2025, 3, 11, 0, 30, tzinfo=PLUS7)
    insert_readings(db, plot, [(before, "st-1", "rainfall", 1.2, "mm"),
                               (after, "st-1", "rainfall", 0.4, "mm")])
    start = datetime(2025, 3, 9, tzinfo=PLUS7)
    end = datetime(2025, 3, 13, tzinfo=PLUS7)

    local = queries.series(db, plot, "rainfall", start, end, bucket="1d")
    utc = queries.series(db, plot, "rainfall", start, end, bucket="1d", timezone="UTC")

    assert [p.time.isoformat() for p in local.points] == ["2025-03-10T00:00:00+07:00",
                                                          "2025-03-11T00:00:00+07:00"]
    assert [p.sum for p in local.points] == [1.2, 0.4]  # type: ignore[union-attr]
    assert [p.time.isoformat() for p in utc.points] == ["2025-03-10T00:00:00+00:00"]
    assert [p.count for p in utc.points] == [2]  # type: ignore[union-attr]


def test_series_empty_takes_unit_from_registry(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    start = datetime(2025, 3, 10, tzinfo=PLUS7)
    result = queries.series(db, plot, "soil_moisture_35cm", start, start + timedelta(days=1),
                            bucket="1h")
    assert result.points == []
    assert result.unit == "%"


def test_series_rejects_naive_time(db: psycopg.Connection) -> None:
    with pytest.raises(InvalidInput, match="no UTC offset"):
        queries.series(db, 1, "rainfall", datetime(2025, 3, 10), datetime(2025, 3, 11, tzinfo=UTC))


def test_metric_known_registry_depth_and_stored(db: psycopg.Connection) -> None:
    plot = make_plot(db)
    insert_readings(db, plot, [(datetime(2025, 3, 10, tzinfo=UTC), "st-1", "vendor_thing", 1.0,
                                "1")])
    assert queries.metric_known(db, plot, "air_temperature")
    assert queries.metric_known(db, plot, "soil_moisture_35cm")
    assert queries.metric_known(db, plot, "vendor_thing")
    assert not queries.metric_known(db, plot, "nope")
    assert "vendor_thing" in queries.known_metrics(db, plot)
    assert "rainfall" in queries.known_metrics(db, plot)


T0 = datetime(2025, 3, 10, tzinfo=PLUS7)
RANGE_CASES = [
    # (start, end, bucket, expected reason or None, fragment of the message)
    (T0, T0 + timedelta(days=31), "raw", None, ""),
    (T0, T0 + timedelta(days=31, seconds=1), "raw", "span_too_large", "use bucket 1h"),
    (T0, T0 + timedelta(days=366), "1h", None, ""),
    (T0, T0 + timedelta(days=367), "1h", "span_too_large", "use bucket 1d"),
    (T0, T0 + timedelta(days=3661), "1d", "span_too_large", "maximum for bucket 1d"),
    (T0 + timedelta(hours=1), T0, "raw", "range_reversed", "is after"),
    (T0, T0, "1d", None, ""),
    (datetime(2025, 3, 10), T0, "raw", "time_naive", "no UTC offset"),
    (T0, T0 + timedelta(days=1), "5m", "bucket_unknown", "raw, 1h, 1d"),
]


@pytest.mark.parametrize(("start", "end", "bucket", "reason", "fragment"), RANGE_CASES)
def test_range_problem_cases(start: datetime, end: datetime, bucket: str, reason: str | None,
                             fragment: str) -> None:
    problem = queries.range_problem(start, end, bucket)
    if reason is None:
        assert problem is None
        return
    assert problem is not None
    assert problem.reason == reason
    assert fragment in problem.message


def test_range_problem_uses_given_names() -> None:
    problem = queries.range_problem(T0, T0 - timedelta(days=1), "raw", names=("from", "to"))
    assert problem is not None
    assert problem.message.startswith("from 2025-03-10T00:00:00+07:00 is after to ")
