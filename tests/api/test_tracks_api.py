"""HTTP: fix batches from offline phones, GPX uploads and the visits of a worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from fastapi.testclient import TestClient
from shapely.geometry import box

from tests.api.builders import make_plot
from vuonso.gis.fixes import assign_device

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2025, 3, 1, 8, 0, tzinfo=ZONE)
LAT = 11.5405


def _batch(count: int = 5, *, device: str = "phone-9", accuracy_m: float = 5.0) -> dict:
    return {"device": device, "fixes": [
        {"time": (START + timedelta(seconds=10 * i)).isoformat(), "lat": LAT,
         "lon": round(106.89025 + 0.0001 * i, 5), "accuracy_m": accuracy_m}
        for i in range(count)
    ]}


def test_posted_batch_stored_once(client: TestClient, db: psycopg.Connection) -> None:
    first = client.post("/api/gis/fixes", json=_batch())
    second = client.post("/api/gis/fixes", json=_batch())
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 5, "inserted": 5, "duplicates": 0, "flagged": 0}
    assert second.json() == {"received": 5, "inserted": 0, "duplicates": 5, "flagged": 0}
    stored = db.execute("SELECT count(*), min(channel) FROM gis.fixes").fetchone()
    assert stored == (5, "http")


def test_posted_poor_fixes_are_flagged(client: TestClient, db: psycopg.Connection) -> None:
    response = client.post("/api/gis/fixes", json=_batch(3, accuracy_m=75.0))
    assert response.json()["flagged"] == 3
    flags = db.execute("SELECT DISTINCT flags FROM gis.fixes").fetchall()
    assert flags == [(["poor_accuracy"],)]


def test_fix_time_without_offset_is_422(client: TestClient, db: psycopg.Connection) -> None:
    body = {"device": "phone-9", "fixes": [
        {"time": "2025-03-01T08:00:00", "lat": LAT, "lon": 106.89}]}
    response = client.post("/api/gis/fixes", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "fix_invalid"
    assert error["problems"][0]["location"] == "fixes[0].time"
    assert "no UTC offset" in error["detail"]
    assert error["message"].startswith("The GPS position data is invalid")
    assert db.execute("SELECT count(*) FROM gis.fixes").fetchone() == (0,)


def test_fix_error_message_defaults_to_vietnamese(client: TestClient,
                                                  db: psycopg.Connection) -> None:
    response = client.post("/api/gis/fixes", json={"fixes": []})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("Dữ liệu vị trí GPS không hợp lệ")


def test_fix_body_not_json_is_422(client: TestClient, db: psycopg.Connection) -> None:
    response = client.post("/api/gis/fixes", content=b"{oops",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_visits_of_worker(client: TestClient, db: psycopg.Connection) -> None:
    plot_a = make_plot(db, "A", geometry=box(106.8900, 11.5400, 106.8910, 11.5410))
    plot_b = make_plot(db, "B", geometry=box(106.8910, 11.5400, 106.8920, 11.5410))
    assign_device(db, "phone-9", "NV-3")
    client.post("/api/gis/fixes", json=_batch(14))

    response = client.get("/api/gis/visits", params={"worker": "NV-3", "date": "2025-03-01"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert [v["plot_id"] for v in report["visits"]] == [plot_a, plot_b]
    first = report["visits"][0]
    assert first["entered_at"] == "2025-03-01T08:00:00+07:00"
    assert first["exited_at"] == "2025-03-01T08:01:10+07:00"
    assert first["duration_s"] == 70
    assert first["positions"] == 8
    assert 70 < first["distance_m"] < 85
    assert report["timezone"] == "Asia/Ho_Chi_Minh"


def test_visits_bad_date_is_422(client: TestClient, db: psycopg.Connection) -> None:
    response = client.get("/api/gis/visits", params={"worker": "NV-3", "date": "01/03/2025"})
    assert response.status_code == 422


def test_gpx_upload_and_listing(client: TestClient, db: psycopg.Connection) -> None:
    gpx = (b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>t</name>'
           b'<trkseg><trkpt lat="11.54" lon="106.89"/><trkpt lat="11.541" lon="106.89"/>'
           b"</trkseg></trk></gpx>")
    files = {"file": ("walk.gpx", gpx, "application/gpx+xml")}
    created = client.post("/api/gis/tracks", params={"worker": "NV-3"}, files=files)
    assert created.status_code == 201, created.text
    [track_id] = created.json()["track_ids"]

    listed = client.get("/api/gis/tracks", params={"worker": "NV-3"}).json()["items"]
    assert [item["id"] for item in listed] == [track_id]
    assert listed[0]["source_file"] == "walk.gpx"
    feature = client.get(f"/api/gis/tracks/{track_id}")
    assert feature.headers["content-type"].startswith("application/geo+json")
    assert feature.json()["geometry"]["type"] == "MultiLineString"


def test_gpx_upload_malformed_names_line(client: TestClient, db: psycopg.Connection) -> None:
    files = {"file": ("bad.gpx", b"<gpx>\n<wpt lat='95' lon='0'/></gpx>", "application/gpx+xml")}
    response = client.post("/api/gis/tracks", params={"worker": "NV-3", "lang": "en"},
                           files=files)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "gpx_invalid"
    assert "bad.gpx, line 2" in error["detail"]
    assert "(line 2)" in error["message"]


def test_unknown_track_is_404(client: TestClient, db: psycopg.Connection) -> None:
    response = client.get("/api/gis/tracks/12345", params={"lang": "en"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Track 12345 was not found."
