"""HTTP: which plot contains a position, the nearest within 50 m, or none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from geographiclib.geodesic import Geodesic
from shapely.affinity import translate

from tests.api.builders import SQUARE, insert_readings, make_plot

# SQUARE spans lon 108.000-108.003 and lat 13.900-13.903.
INSIDE = (13.9015, 108.0015)
EAST_EDGE_LON = 108.003


def _east_of_square(metres: float) -> tuple[float, float]:
    """A point `metres` due east of the square's east edge, at its middle latitude."""
    point = Geodesic.WGS84.Direct(13.9015, EAST_EDGE_LON, 90.0, metres)
    return point["lat2"], point["lon2"]


def test_locate_inside_with_latest_readings(client: TestClient, db: psycopg.Connection) -> None:
    plot_id = make_plot(db, "A01", geometry=SQUARE)
    now = datetime.now(UTC).replace(microsecond=0)
    insert_readings(db, plot_id, [
        (now - timedelta(minutes=10), "st-1", "soil_moisture", 30.5, "%"),
        (now, "st-1", "soil_moisture", 31.0, "%"),
        (now, "st-1", "air_temperature", 27.25, "°C"),
    ])
    response = client.get("/api/gis/locate", params={"lat": INSIDE[0], "lon": INSIDE[1]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plot"]["id"] == plot_id
    assert body["plot"]["code"] == "A01"
    assert body["inside"] is True
    assert body["distance_m"] == 0.0
    readings = {r["metric"]: r for r in body["readings"]}
    assert set(readings) == {"soil_moisture", "air_temperature"}
    assert readings["soil_moisture"]["value"] == 31.0
    assert readings["soil_moisture"]["time"].endswith("+07:00")


def test_locate_near_gives_distance(client: TestClient, db: psycopg.Connection) -> None:
    plot_id = make_plot(db, "A01", geometry=SQUARE)
    lat, lon = _east_of_square(30.0)
    response = client.get("/api/gis/locate", params={"lat": lat, "lon": lon})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plot"]["id"] == plot_id
    assert body["inside"] is False
    assert body["distance_m"] == pytest.approx(30.0, abs=0.5)
    assert body["readings"] == []


def test_locate_nearest_of_two(client: TestClient, db: psycopg.Connection) -> None:
    make_plot(db, "A01", geometry=SQUARE)
    # A second plot 60 m further east: the point 40 m east of A is 20 m from B.
    shift = _east_of_square(60.0)[1] - EAST_EDGE_LON
    plot_b = make_plot(db, "B01", geometry=translate(SQUARE, xoff=0.003 + shift))
    lat, lon = _east_of_square(40.0)
    body = client.get("/api/gis/locate", params={"lat": lat, "lon": lon}).json()
    assert body["plot"]["id"] == plot_b
    assert body["distance_m"] == pytest.approx(20.0, abs=0.5)


def test_locate_far_is_404_translated(client: TestClient, db: psycopg.Connection) -> None:
    make_plot(db, "A01", geometry=SQUARE)
    lat, lon = _east_of_square(80.0)
    vietnamese = client.get("/api/gis/locate", params={"lat": lat, "lon": lon})
    english = client.get("/api/gis/locate", params={"lat": lat, "lon": lon},
                         headers={"Accept-Language": "en"})
    assert vietnamese.status_code == 404
    assert vietnamese.json()["error"]["code"] == "not_found"
    assert vietnamese.json()["error"]["message"].startswith("Không có lô nào")
    assert "50 m" in vietnamese.json()["error"]["message"]
    assert english.json()["error"]["message"].startswith("No plot contains the position")


@pytest.mark.parametrize("params", [
    {"lat": 91, "lon": 108},
    {"lat": -90.5, "lon": 108},
    {"lat": 13.9, "lon": 180.01},
    {"lat": 13.9, "lon": "east"},
    {"lat": 13.9},
])
def test_locate_out_of_range_is_422(client: TestClient, db: psycopg.Connection,
                                    params: dict[str, object]) -> None:
    response = client.get("/api/gis/locate", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
