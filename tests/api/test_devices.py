"""GET /api/devices: model, position and plot of each device, filtered by plot."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient
from shapely.geometry import box

from tests.api.builders import make_device, make_plot


def test_list_devices_position_model_plot(db: psycopg.Connection, client: TestClient) -> None:
    plot = make_plot(db, "A01")
    assert make_device(db, "st-0001", 108.001, 13.901, model="dragino-lse01") == plot
    assert make_device(db, "st-0002", 107.5, 13.5, model="decentlab-dl-tbrg") is None

    items = client.get("/api/devices").json()["items"]

    assert [item["id"] for item in items] == ["st-0001", "st-0002"]
    assert items[0]["model"] == "dragino-lse01"
    assert items[0]["plot_id"] == plot
    assert items[0]["position"] == {"type": "Point", "coordinates": [108.001, 13.901]}
    assert items[0]["placed_at"].endswith("+00:00")
    assert items[1]["plot_id"] is None


def test_list_devices_filtered_by_plot(db: psycopg.Connection, client: TestClient) -> None:
    a = make_plot(db, "A01")
    make_plot(db, "A02", geometry=box(108.010, 13.900, 108.013, 13.903))
    make_device(db, "st-a", 108.001, 13.901)
    make_device(db, "st-b", 108.011, 13.901)

    response = client.get("/api/devices", params={"plot": a})

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == ["st-a"]


def test_list_devices_paging(db: psycopg.Connection, client: TestClient) -> None:
    for i in range(3):
        make_device(db, f"st-{i}", 107.0, 13.0)

    page = client.get("/api/devices", params={"limit": 2}).json()

    assert len(page["items"]) == 2
    assert page["next_offset"] == 2


def test_list_devices_missing_plot_is_404(db: psycopg.Connection, client: TestClient) -> None:
    response = client.get("/api/devices", params={"plot": 424242})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

