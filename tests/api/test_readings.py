"""GET /api/plots/{id}/readings/latest and /readings: values, buckets and every 422 and 404."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.builders import insert_readings, make_plot

PLUS7 = timezone(timedelta(hours=7))


def test_latest_readings_per_metric(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    t0 = datetime(2025, 3, 10, 8, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [
        (t0, "st-1", "air_temperature", 24.0, "°C"),
        (t0 + timedelta(minutes=15), "st-1", "air_temperature", 24.5, "°C"),
        (t0, "st-2", "rainfall", 0.2, "mm"),
    ])

    response = client.get(f"/api/plots/{plot}/readings/latest")

    assert response.status_code == 200
    readings = response.json()["readings"]
    assert readings == [
        {"metric": "air_temperature", "value": 24.5, "unit": "°C",
         "time": "2025-03-10T08:15:00+07:00", "device_id": "st-1"},
        {"metric": "rainfall", "value": 0.2, "unit": "mm",
         "time": "2025-03-10T08:00:00+07:00", "device_id": "st-2"},
    ]


def test_latest_readings_missing_plot_is_404(db: psycopg.Connection, client: TestClient) -> None:
    response = client.get("/api/plots/999999/readings/latest")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_series_raw_with_offsets(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    t0 = datetime(2025, 3, 10, 8, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [(t0 + timedelta(minutes=10 * i), "st-1", "soil_moisture_20cm",
                                36.0 + i, "%") for i in range(4)])

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "soil_moisture_20cm", "from": "2025-03-10T01:00:00Z",
        "to": "2025-03-10T08:30:00+07:00"})

    assert response.status_code == 200
    body = response.json()
    assert body["unit"] == "%"
    assert body["bucket"] == "raw"
    assert body["from"] == "2025-03-10T08:00:00+07:00"
    assert body["truncated"] is False
    assert body["points"] == [
        {"time": "2025-03-10T08:00:00+07:00", "value": 36.0, "device_id": "st-1"},
        {"time": "2025-03-10T08:10:00+07:00", "value": 37.0, "device_id": "st-1"},
        {"time": "2025-03-10T08:20:00+07:00", "value": 38.0, "device_id": "st-1"},
    ]


def test_series_unencoded_plus_in_offset(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    insert_readings(db, plot, [(datetime(2025, 3, 10, 8, tzinfo=PLUS7), "st-1", "rainfall", 1.0,
                                "mm")])
    # A client that does not percent-encode "+" sends it as a space.
    url = (f"/api/plots/{plot}/readings?metric=rainfall&from=2025-03-10T00:00:00+07:00"
           "&to=2025-03-11T00:00:00%2B07:00")

    response = client.get(url)

    assert response.status_code == 200
    assert response.json()["from"] == "2025-03-10T00:00:00+07:00"
    assert len(response.json()["points"]) == 1


def test_series_hourly_buckets(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    hour = datetime(2025, 3, 10, 14, 0, tzinfo=PLUS7)
    insert_readings(db, plot, [
        (hour + timedelta(minutes=10), "st-1", "air_temperature", 20.0, "°C"),
        (hour + timedelta(minutes=40), "st-1", "air_temperature", 30.0, "°C"),
        (hour + timedelta(minutes=70), "st-1", "air_temperature", 22.0, "°C"),
    ])

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "air_temperature", "bucket": "1h", "from": "2025-03-10T14:00:00+07:00",
        "to": "2025-03-10T16:00:00+07:00"})

    assert response.status_code == 200
    assert response.json()["points"] == [
        {"time": "2025-03-10T14:00:00+07:00", "avg": 25.0, "min": 20.0, "max": 30.0,
         "sum": 50.0, "count": 2},
        {"time": "2025-03-10T15:00:00+07:00", "avg": 22.0, "min": 22.0, "max": 22.0,
         "sum": 22.0, "count": 1},
    ]


def test_series_daily_buckets_split_at_local_midnight(db: psycopg.Connection,
                                                      client: TestClient) -> None:
    plot = make_plot(db)
    insert_readings(db, plot, [
        (datetime(2025, 3, 10, 23, 30, tzinfo=PLUS7), "st-1", "rainfall", 1.2, "mm"),
        (datetime(2025, 3, 11, 0, 30, tzinfo=PLUS7), "st-1", "rainfall", 0.4, "mm"),
    ])
    params = {"metric": "rainfall", "bucket": "1d", "from": "2025-03-09T00:00:00+07:00",
              "to": "2025-03-13T00:00:00+07:00"}

    local = client.get(f"/api/plots/{plot}/readings", params=params).json()
    utc = client.get(f"/api/plots/{plot}/readings", params={**params, "tz": "UTC"}).json()

    assert [(p["time"], p["sum"], p["count"]) for p in local["points"]] == [
        ("2025-03-10T00:00:00+07:00", 1.2, 1),
        ("2025-03-11T00:00:00+07:00", 0.4, 1),
    ]
    assert local["timezone"] == "Asia/Ho_Chi_Minh"
    assert [(p["time"], p["count"]) for p in utc["points"]] == [("2025-03-10T00:00:00+00:00", 2)]


def test_series_default_range_ends_now(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    now = datetime.now(PLUS7)
    insert_readings(db, plot, [(now - timedelta(hours=2), "st-1", "battery", 3.6, "V"),
                               (now - timedelta(days=3), "st-1", "battery", 3.7, "V")])

    raw = client.get(f"/api/plots/{plot}/readings", params={"metric": "battery"}).json()
    hourly = client.get(f"/api/plots/{plot}/readings",
                        params={"metric": "battery", "bucket": "1h"}).json()

    assert [p["value"] for p in raw["points"]] == [3.6]
    assert [p["avg"] for p in hourly["points"]] == [3.7, 3.6]


@pytest.mark.parametrize(("lang", "fragment"), [("vi", "thiếu độ lệch múi giờ"),
                                                ("en", "has no UTC offset")])
def test_series_naive_time_is_422(db: psycopg.Connection, client: TestClient, lang: str,
                                  fragment: str) -> None:
    plot = make_plot(db)

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "rainfall", "from": "2025-03-10T00:00:00", "lang": lang})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"]
    assert "from=2025-03-10T00:00:00" in error["message"]


def test_series_unparsable_time_is_422(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "rainfall", "to": "yesterday", "lang": "en"})

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "to=yesterday" in message
    assert "ISO 8601" in message


def test_series_reversed_range_is_422(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "rainfall", "from": "2025-03-11T00:00:00+07:00",
        "to": "2025-03-10T00:00:00+07:00", "lang": "en"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert "is after" in error["message"]
    assert error["problems"][0]["reason"] == "range_reversed"


@pytest.mark.parametrize(("lang", "fragment"), [("vi", "bucket=1h"), ("en", "bucket=1h")])
def test_series_raw_range_too_large_suggests_bucket(db: psycopg.Connection, client: TestClient,
                                                    lang: str, fragment: str) -> None:
    plot = make_plot(db)

    response = client.get(f"/api/plots/{plot}/readings", params={
        "metric": "rainfall", "from": "2025-01-01T00:00:00+07:00",
        "to": "2025-03-01T00:00:00+07:00", "lang": lang})

    assert response.status_code == 422
    error = response.json()["error"]
    assert fragment in error["message"]
    assert "59.0" in error["message"]
    assert error["problems"][0]["reason"] == "span_too_large"


@pytest.mark.parametrize(("lang", "fragment"), [("vi", "không có chỉ số nope"),
                                                ("en", "Metric nope is unknown")])
def test_series_unknown_metric_lists_known(db: psycopg.Connection, client: TestClient,
                                           lang: str, fragment: str) -> None:
    plot = make_plot(db)
    insert_readings(db, plot, [(datetime(2025, 3, 10, tzinfo=PLUS7), "st-1", "vendor_thing",
                                1.0, "1")])

    response = client.get(f"/api/plots/{plot}/readings",
                          params={"metric": "nope", "lang": lang})

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert fragment in message
    assert "air_temperature" in message
    assert "vendor_thing" in message


def test_series_unknown_bucket_is_422(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    response = client.get(f"/api/plots/{plot}/readings",
                          params={"metric": "rainfall", "bucket": "5m", "lang": "en"})
    assert response.status_code == 422
    assert "raw, 1h, 1d" in response.json()["error"]["message"]


def test_series_unknown_timezone_is_422(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db)
    response = client.get(f"/api/plots/{plot}/readings",
                          params={"metric": "rainfall", "tz": "Mars/Olympus", "lang": "en"})
    assert response.status_code == 422
    assert "tz=Mars/Olympus" in response.json()["error"]["message"]


def test_series_missing_plot_is_404(db: psycopg.Connection, client: TestClient) -> None:
    response = client.get("/api/plots/999999/readings", params={"metric": "rainfall"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
