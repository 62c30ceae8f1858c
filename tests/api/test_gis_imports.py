"""POST /api/gis/imports and GET /api/gis/exports over HTTP, including the streamed size limit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import shapely
import uvicorn
from fastapi.testclient import TestClient
from shapely.geometry import Polygon, box

from tests.support.services import free_port
from vuonso.api.app import create_app
from vuonso.core.settings import Settings, load_settings
from vuonso.gis.plots import create_company, create_farm

LIMIT = 64 * 1024
BOWTIE = Polygon([(107.6, 13.8), (107.603, 13.803), (107.603, 13.8), (107.6, 13.803)])


@pytest.fixture()
def farm(db: psycopg.Connection) -> str:
    company = create_company(db, "CT74", "Đoàn KT-QP 74", kind="doan_ktqp")
    create_farm(db, company, "NT5", "Nông trường 5")
    return "NT5"


@pytest.fixture()
def api_settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, upload_max_bytes=LIMIT)


@pytest.fixture()
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


def plot_file(*plots: tuple[str, Polygon]) -> bytes:
    features = [{"type": "Feature", "properties": {"ma_lo": code, "cay_trong": "cao su"},
                 "geometry": shapely.geometry.mapping(geometry)} for code, geometry in plots]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def plot_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM gis.plots").fetchone()
    assert row is not None
    return int(row[0])


def test_dry_run_then_import(client: TestClient, farm: str, database_url: str) -> None:
    upload = {"file": ("lo.geojson", plot_file(("L1", box(107.6, 13.8, 107.603, 13.803))),
                       "application/geo+json")}
    dry = client.post("/api/gis/imports", files=upload, data={"farm": farm, "dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"]["created"] == 1
    assert dry.json()["area_unit"] == "ha"
    assert plot_count(database_url) == 0
    done = client.post("/api/gis/imports", files=upload, data={"farm": farm})
    assert done.status_code == 201, done.text
    assert done.json()["committed"] is True
    assert plot_count(database_url) == 1


def test_invalid_feature_listed(client: TestClient, farm: str, database_url: str) -> None:
    upload = {"file": ("lo.geojson", plot_file(("L1", box(107.6, 13.8, 107.603, 13.803)),
                                               ("L2", BOWTIE)), "application/geo+json")}
    response = client.post("/api/gis/imports?lang=en", files=upload, data={"farm": farm})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [(p["feature"], p["code"], p["problem"]) for p in problems] == [
        (1, "L2", "self_intersection")]
    assert problems[0]["message"].startswith("Feature #1 (L2)")
    assert plot_count(database_url) == 0


def test_repair_and_mapping_fields(client: TestClient, farm: str) -> None:
    upload = {"file": ("lo.geojson", plot_file(("L2", BOWTIE)), "application/geo+json")}
    response = client.post("/api/gis/imports", files=upload, data={
        "farm": farm, "repair": "1", "map": "code=ma_lo,crop=cay_trong"})
    assert response.status_code == 201, response.text
    repairs = response.json()["repairs"]
    assert repairs[0]["fixed"] == ["self_intersection"]
    assert repairs[0]["area_change_ha"] > 0


@pytest.mark.parametrize(("data", "fragment"), [
    ({}, "farm"),
    ({"farm": "NT5", "dry_run": "maybe"}, "dry_run"),
    ({"farm": "NT5", "map": "colour=x"}, "colour=x"),
    ({"farm": "NT5", "crs": "EPSG:3405"}, "EPSG:3405"),
])
def test_bad_form_rejected(client: TestClient, farm: str, data: dict, fragment: str) -> None:
    kml = (b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>L1</name>'
           b"<Polygon><outerBoundaryIs><LinearRing><coordinates>107.6,13.8 107.603,13.8 "
           b"107.603,13.803 107.6,13.8</coordinates></LinearRing></outerBoundaryIs></Polygon>"
           b"</Placemark></Document></kml>")
    upload = {"file": ("lo.kml", kml, "application/vnd.google-earth.kml+xml")}
    response = client.post("/api/gis/imports", files=upload, data=data)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["detail"]


def test_declared_length_over_limit(client: TestClient, farm: str) -> None:
    upload = {"file": ("big.geojson", b" " * (LIMIT + 1), "application/geo+json")}
    response = client.post("/api/gis/imports", files=upload, data={"farm": farm})
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["error"]["message"]


def test_openapi_states_limit(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/gis/imports"]["post"]
    assert "UPLOAD_MAX_BYTES" in operation["description"]
    assert "413" in operation["responses"]


@pytest.fixture()
def live_server(api_settings: Settings) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 and a free port, stopped after the test."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(api_settings), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def test_streamed_upload_stopped_at_limit(live_server: str, farm: str) -> None:
    chunk = b" " * 65_536
    total_chunks = 1_024  # 64 MiB offered, 1,000 times the limit
    sent = {"chunks": 0}
    boundary = "vuonso-test-boundary"

    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"farm\"\r\n\r\n{farm}\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"big.geojson\"\r\nContent-Type: application/geo+json\r\n\r\n").encode()
        for _ in range(total_chunks):
            sent["chunks"] += 1
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    with httpx.Client(timeout=30) as http:
        response = http.post(f"{live_server}/api/gis/imports", content=body(),
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    # Socket buffers let some chunks through after the 413; far fewer than the whole body.
    assert sent["chunks"] < total_chunks // 4


def test_export_download(client: TestClient, farm: str) -> None:
    upload = {"file": ("lo.geojson", plot_file(("Lô 1", box(107.6, 13.8, 107.603, 13.803))),
                       "application/geo+json")}
    assert client.post("/api/gis/imports", files=upload, data={"farm": farm}).status_code == 201
    response = client.get("/api/gis/exports", params={"farm": farm, "format": "geojson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert "plots-farm-nt5-" in disposition
    properties = response.json()["features"][0]["properties"]
    assert properties["code"] == "Lô 1"
    assert properties["area_ha"] > 0
    missing = client.get("/api/gis/exports", params={"farm": "NONE", "format": "shp"})
    assert missing.status_code == 404


def test_export_format_checked(client: TestClient, tmp_path: Path) -> None:
    response = client.get("/api/gis/exports", params={"farm": "NT5", "format": "dxf"})
    assert response.status_code == 422
