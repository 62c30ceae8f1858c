"""The phone map page, the Leaflet files it loads and the light JSON it reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box

from tests.support.database import empty_package_tables
from tests.support.services import REPO
from vuonso.api.app import create_app
from vuonso.api.routers import map as map_router
from vuonso.core.settings import load_settings
from vuonso.gis import plots
from vuonso.ingest import devices
from vuonso.ingest.partitions import ensure_for_times


def cell(column: int, row: int = 0) -> Any:
    west, south = 106.80 + column * 0.002, 11.50 + row * 0.002
    return box(west, south, west + 0.0008, south + 0.0008)


@pytest.fixture()
def registry(database_url: str) -> Iterator[psycopg.Connection]:
    """Two farms of three plots each, a device in the first plot with fresh readings."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        empty_package_tables(conn)
        company = plots.create_company(conn, "CSDX", "Cao su Đồng Xoài")
        for row, code in enumerate(("NT1", "NT2")):
            farm = plots.create_farm(conn, company, code, f"Nông trường {code}")
            for column in range(3):
                fields = plots.PlotFields(code=f"{code}-{column}", crop="rubber")
                plots.create_plot(conn, farm, fields, cell(column, row))
        plot_id = devices.register_device(conn, "st-01", "dragino-lse01",
                                          *cell(0).centroid.coords[0])
        now = datetime.now(UTC)
        times = [now - timedelta(hours=2), now - timedelta(hours=1)]
        ensure_for_times(conn, times)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ingest.readings (time, device_id, metric, value, unit, plot_id,"
                " received_at) VALUES (%s, 'st-01', 'soil_moisture_20cm', %s, '%%', %s, %s)",
                [(times[0], 21.5, plot_id, now), (times[1], 23.25, plot_id, now)])
        yield conn


@pytest.fixture()
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(database_url=database_url))) as test_client:
        yield test_client


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html,
                      flags=re.DOTALL)
    assert found is not None, "the page has no map configuration"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_map_page_vietnamese_by_default(client: TestClient) -> None:
    response = client.get("/map")
    assert response.status_code == 200
    assert '<html lang="vi">' in response.text
    assert "Bản đồ lô" in response.text
    assert '/static/vendor/leaflet/leaflet.js' in response.text
    assert '/static/map.js' in response.text
    config = page_config(response.text)
    assert config["lang"] == "vi"
    assert config["tiles"] is None
    assert [layer["name"] for layer in config["layers"]] == [
        "soil_moisture_20cm", "air_temperature", "rainfall"]
    assert config["layers"][0]["unit"] == "%"
    assert config["layers"][0]["short"] == "Độ ẩm đất 20 cm"
    assert config["text"]["locate"] == "Vị trí của tôi"


def test_map_page_in_english(client: TestClient) -> None:
    response = client.get("/map", params={"lang": "en"})
    assert '<html lang="en">' in response.text
    assert page_config(response.text)["text"]["locate"] == "My position"
    assert "Rainfall (last 24 h)" in response.text


def test_map_page_tile_server_from_settings(database_url: str) -> None:
    settings = load_settings(database_url=database_url,
                             map_tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png",
                             map_tile_attribution="© test")
    with TestClient(create_app(settings)) as test_client:
        config = page_config(test_client.get("/map").text)
    assert config["tiles"] == {"url": "http://127.0.0.1:9/{z}/{x}/{y}.png",
                               "attribution": "© test"}


def test_map_page_without_leaflet(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(map_router, "find_leaflet", lambda: None)
    response = client.get("/map")
    assert response.status_code == 200
    assert "make demo" in response.text
    assert "leaflet.js" not in response.text
    assert "map-config" not in response.text


def test_leaflet_files_missing_is_404(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
    monkeypatch.setattr(map_router, "find_leaflet", lambda: None)
    response = client.get("/static/vendor/leaflet/leaflet.js")
    assert response.status_code == 404
    assert "make demo" in response.text


def test_leaflet_served_from_node_modules(client: TestClient) -> None:
    assert map_router.find_leaflet() == REPO / "node_modules" / "leaflet" / "dist"
    script = client.get("/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200


def test_map_assets_stay_small(client: TestClient) -> None:
    script = client.get("/static/map.js")
    style = client.get("/static/map.css")
    assert script.status_code == style.status_code == 200
    # A weak mobile link should load the page's own code in a moment: keep it under 16 KB.
    assert len(script.content) + len(style.content) < 16_000


def test_map_farms_with_bounds(client: TestClient, registry: psycopg.Connection) -> None:
    farms = client.get("/api/map/farms").json()["farms"]
    assert [(farm["code"], farm["plot_count"]) for farm in farms] == [("NT1", 3), ("NT2", 3)]
    assert farms[0]["bbox"] == pytest.approx([106.8, 11.5, 106.8048, 11.5008])


def test_map_plots_by_bbox_and_farm(client: TestClient, registry: psycopg.Connection) -> None:
    west, south, _east, _north = cell(1, 0).bounds
    _west, _south, east, north = cell(2, 1).bounds
    response = client.get("/api/map/plots", params={
        "bbox": f"{west},{south},{east},{north}", "zoom": "15"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    document = response.json()
    assert sorted(f["properties"]["code"] for f in document["features"]) == [
        "NT1-1", "NT1-2", "NT2-1", "NT2-2"]
    assert set(document["features"][0]["properties"]) == {"code", "farm_code", "area_ha"}
    by_farm = client.get("/api/map/plots", params={"farm_code": "NT2", "limit": "2"}).json()
    assert (by_farm["numberMatched"], by_farm["numberReturned"], by_farm["nextOffset"]) == (3, 2, 2)


@pytest.mark.parametrize(("query", "parameter"), [
    ({"zoom": "23"}, "zoom"),
    ({"limit": "2001"}, "limit"),
    ({"datetime": "2024-05-01T00:00:00Z"}, "datetime"),
    ({"bbox": "1,2,3"}, "bbox"),
])
def test_map_plots_bad_parameter(client: TestClient, query: dict[str, str],
                                 parameter: str) -> None:
    response = client.get("/api/map/plots", params=query)
    assert response.status_code == 400
    assert response.json()["error"]["problems"][0]["parameter"] == parameter


def test_map_values_latest_per_plot(client: TestClient, registry: psycopg.Connection) -> None:
    response = client.get("/api/map/values", params={"metric": "soil_moisture_20cm",
                                                     "farm_code": "NT1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["unit"], body["plots"], body["aggregate"]) == ("%", 3, "latest")
    assert [(entry["plot_id"], entry["value"]) for entry in body["values"]] == [(1, 23.25)]
    other_farm = client.get("/api/map/values", params={"metric": "soil_moisture_20cm",
                                                       "farm_code": "NT2"}).json()
    assert other_farm["values"] == []


@pytest.mark.parametrize(("query", "fragment"), [
    ({}, "metric is missing"),
    ({"metric": "battery"}, "Use one of: soil_moisture_20cm, air_temperature, rainfall"),
])
def test_map_values_needs_known_metric(client: TestClient, query: dict[str, str],
                                       fragment: str) -> None:
    response = client.get("/api/map/values", params={**query, "lang": "en"})
    assert response.status_code == 400
    problem = response.json()["error"]["problems"][0]
    assert problem["parameter"] == "metric"
    assert fragment in problem["message"]
