"""GET /api/plots and /api/plots/{id}: paging, filters, GeoJSON and the 404 of a missing plot."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.builders import make_plot


def test_list_plots_fields_and_area_unit(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "A01", farm="NT1", company="CT72", clone="RRIV 124")

    response = client.get("/api/plots")

    assert response.status_code == 200
    item = response.json()["items"][0]
    assert item["id"] == plot
    assert item["code"] == "A01"
    assert item["farm"] == "NT1"
    assert item["company"] == "CT72"
    assert item["crop"] == "rubber"
    assert item["clone"] == "RRIV 124"
    assert item["planting_year"] == 2012
    assert item["status"] == "tapping"
    assert item["area_ha"] == pytest.approx(10.76, abs=0.05)
    assert item["area_unit"] == "ha"


def test_list_plots_paging(db: psycopg.Connection, client: TestClient) -> None:
    ids = [make_plot(db, f"A{i:02d}") for i in range(5)]

    first = client.get("/api/plots", params={"limit": 2}).json()
    last = client.get("/api/plots", params={"limit": 2, "offset": 4}).json()

    assert [item["id"] for item in first["items"]] == ids[:2]
    assert first["next_offset"] == 2
    assert [item["id"] for item in last["items"]] == ids[4:]
    assert last["next_offset"] is None


def test_list_plots_farm_and_company_filters(db: psycopg.Connection, client: TestClient) -> None:
    a = make_plot(db, "A01", farm="NT1", company="CT72")
    b = make_plot(db, "B01", farm="NT2", company="CT72")
    c = make_plot(db, "C01", farm="NT9", company="CT74")

    by_farm = client.get("/api/plots", params={"farm": "NT2"}).json()["items"]
    by_company = client.get("/api/plots", params={"company": "CT72"}).json()["items"]
    other = client.get("/api/plots", params={"company": "CT74"}).json()["items"]

    assert [item["id"] for item in by_farm] == [b]
    assert [item["id"] for item in by_company] == [a, b]
    assert [item["id"] for item in other] == [c]


def test_list_plots_limit_out_of_range(client: TestClient) -> None:
    response = client.get("/api/plots", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_get_plot_geojson_feature(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "A01")

    response = client.get(f"/api/plots/{plot}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == plot
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["geometry"]["coordinates"][0][0][0] == [108.0, 13.9]
    assert feature["properties"]["code"] == "A01"
    assert feature["properties"]["area_unit"] == "ha"
    assert feature["properties"]["area_ha"] == pytest.approx(10.76, abs=0.05)
    assert "+00:00" in feature["properties"]["geometry_valid_from"]


@pytest.mark.parametrize(("lang", "fragment"), [("vi", "Không tìm thấy"), ("en", "not found")])
def test_get_plot_missing_is_404(db: psycopg.Connection, client: TestClient, lang: str,
                                 fragment: str) -> None:
    response = client.get("/api/plots/999999", params={"lang": lang})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert fragment in error["message"]
    assert "999999" in error["detail"]


def test_get_plot_missing_english_by_accept_language(db: psycopg.Connection,
                                                     client: TestClient) -> None:
    response = client.get("/api/plots/999999", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert response.status_code == 404
    assert "not found" in response.json()["error"]["message"]
