"""OGC API - Features over HTTP: read by GDAL's OAPIF driver, checked against the OGC schemas.

A real uvicorn server runs in a subprocess on a free 127.0.0.1 port, so that GDAL (ogrinfo and
pyogrio's bundled GDAL) can page through it like any other client.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import psycopg
import pyogrio
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from shapely.geometry import box

from tests.conftest import shared_data
from tests.support.database import empty_package_tables
from tests.support.services import free_port, wait_for_port
from vuonso.gis import plots
from vuonso.gis.tracks import import_gpx
from vuonso.ingest import devices

COLUMNS, ROWS = 6, 4
PLOT_COUNT = COLUMNS * ROWS - 1  # the last cell stays empty
SERVER = """
import sys
import uvicorn
from vuonso.api.app import create_app
from vuonso.core.settings import load_settings
app = create_app(load_settings(database_url=sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="info")
"""
GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>Round</name><trkseg>
<trkpt lat="11.5001" lon="106.8001"><time>2024-05-01T00:00:00Z</time></trkpt>
<trkpt lat="11.5031" lon="106.8031"><time>2024-05-01T00:20:00Z</time></trkpt>
</trkseg></trk>
</gpx>
"""


def cell(column: int, row: int) -> Any:
    """A ~0.7 ha square near Đồng Xoài; cells never touch."""
    west, south = 106.80 + column * 0.002, 11.50 + row * 0.002
    return box(west, south, west + 0.0008, south + 0.0008)


@dataclass
class Served:
    base: str
    log: Path

    @property
    def ogc(self) -> str:
        return f"OAPIF:{self.base}/ogc"

    def requests(self, fragment: str) -> list[str]:
        """Return the logged request lines whose path and query contain `fragment`."""
        return [line for line in self.log.read_text().splitlines()
                if '"GET ' in line and fragment in line]


@pytest.fixture(scope="module")
def dataset(database_url: str) -> dict[str, Any]:
    """Plots on a grid in two farms, two devices and one track, in emptied gis/ingest tables."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        empty_package_tables(conn)
        company = plots.create_company(conn, "CSDX", "Cao su Đồng Xoài")
        farms = [plots.create_farm(conn, company, code, f"Nông trường {code}")
                 for code in ("NT1", "NT2")]
        areas = {}
        for index in range(PLOT_COUNT):
            row, column = divmod(index, COLUMNS)
            fields = plots.PlotFields(code=f"L{row}{column}", crop="rubber", planting_year=2016)
            plot_id = plots.create_plot(conn, farms[row // 2], fields, cell(column, row))
            areas[f"L{row}{column}"] = plots.get_plot(conn, plot_id)["area_ha"]
        devices.register_device(conn, "st-01", "dragino-lse01", *cell(0, 0).centroid.coords[0])
        devices.register_device(conn, "st-02", "dragino-lse01", *cell(3, 3).centroid.coords[0])
        import_gpx(conn, GPX, worker="NV-7", source_file="round.gpx")
    return {"areas": areas}


@pytest.fixture(scope="module")
def served(database_url: str, dataset: dict[str, Any],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    log = tmp_path_factory.mktemp("ogc-server") / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-u", "-c", SERVER, database_url, str(port)],
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        yield Served(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base, timeout=30, trust_env=False) as http:
        yield http


def ogrinfo(*arguments: str) -> str:
    """Run ogrinfo without proxies, so that requests stay on 127.0.0.1."""
    binary = shutil.which("ogrinfo")
    assert binary is not None, "ogrinfo is missing; `make test` installs gdal-bin"
    environment = {name: value for name, value in os.environ.items()
                   if "proxy" not in name.lower()}
    result = subprocess.run([binary, "-ro", *arguments], capture_output=True, text=True,
                            timeout=120, env=environment, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- GDAL as a client -------------------------------------------------------------------------

def test_ogrinfo_lists_collections(served: Served) -> None:
    output = ogrinfo("-so", served.ogc)
    layers = re.findall(r"^\d+: (\w+)", output, flags=re.MULTILINE)
    assert layers == ["plots", "farms", "devices", "tracks"]


def test_ogrinfo_pages_through_plots(served: Served) -> None:
    output = ogrinfo("-oo", "PAGE_SIZE=5", served.ogc, "plots")
    assert len(re.findall(r"^OGRFeature\(plots\):", output, flags=re.MULTILINE)) == PLOT_COUNT
    assert "area_ha (Real) = " in output
    # 23 plots in pages of 5: after the first page GDAL follows four next links.
    followed = served.requests("/ogc/collections/plots/items?limit=5&offset=")
    offsets = {int(found) for line in followed for found in re.findall(r"offset=(\d+)", line)}
    assert offsets == {5, 10, 15, 20}


def test_ogrinfo_summary_counts_and_extent(served: Served) -> None:
    output = ogrinfo("-so", "-al", served.ogc, "plots")
    assert f"Feature Count: {PLOT_COUNT}" in output
    assert "Geometry: Multi Polygon" in output
    assert "Extent: (106.800000, 11.500000) - (106.810800, 11.506800)" in output
    assert "area_ha: Real" in output


def test_ogrinfo_bbox_filter(served: Served) -> None:
    # Touches cells (1, 0), (2, 0), (1, 1) and (2, 1) only.
    output = ogrinfo("-spat", "106.8021", "11.5001", "106.8041", "11.5021", served.ogc, "plots")
    found = sorted(re.findall(r"^  code \(String\) = (\w+)", output, flags=re.MULTILINE))
    assert found == ["L01", "L02", "L11", "L12"]
    assert served.requests("bbox=106.802")  # GDAL writes 106.8021 as 106.802099999...


def test_pyogrio_reads_pages_and_attributes(served: Served, dataset: dict[str, Any]) -> None:
    info = pyogrio.read_info(served.ogc, layer="plots")
    assert info["features"] == PLOT_COUNT
    assert {"code", "farm_code", "area_ha", "geometry_valid_from"} <= set(info["fields"])
    _meta, _fids, geometries, fields = pyogrio.raw.read(
        served.ogc, layer="plots", columns=["code", "area_ha"], PAGE_SIZE=7)
    assert len(geometries) == PLOT_COUNT
    areas = dict(zip(fields[0], fields[1], strict=True))
    for code, area in dataset["areas"].items():
        assert areas[code] == pytest.approx(area, abs=1e-4)


def test_pyogrio_bbox_on_devices(served: Served) -> None:
    west, south, east, north = cell(3, 3).bounds
    _meta, _fids, geometries, fields = pyogrio.raw.read(
        served.ogc, layer="devices", columns=["device_id", "plot_id"],
        bbox=(west, south, east, north))
    assert list(fields[0]) == ["st-02"]
    assert len(geometries) == 1


# --- documents against the OGC OpenAPI fragments ----------------------------------------------

def _openapi_to_json_schema(node: Any) -> Any:
    """Turn OpenAPI 3.0 `nullable: true` into JSON Schema's null type, recursively."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _openapi_to_json_schema(value) for key, value in node.items()
                 if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def ogc_schemas() -> Registry:
    folder = shared_data("ogcapi-features", "openapi-1.0.1", "schemas")
    resources = []
    for path in sorted(folder.glob("*.yaml")):
        schema = _openapi_to_json_schema(yaml.safe_load(path.read_text()))
        # The fragments name no dialect; OpenAPI 3.0 schemas are a subset of draft 4.
        resource = Resource.from_contents(schema, default_specification=DRAFT4)
        resources.append((f"http://schemas.test/{path.name}", resource))
    return Registry().with_resources(resources)


def check(registry: Registry, name: str, document: Any) -> None:
    validator = jsonschema.Draft4Validator({"$ref": f"http://schemas.test/{name}"},
                                           registry=registry)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_schemas_reject_broken_document(ogc_schemas: Registry) -> None:
    example = shared_data("ogcapi-features", "spec-1.0.1-examples", "landing-page.json")
    check(ogc_schemas, "landingPage.yaml", yaml.safe_load(example.read_text()))
    with pytest.raises(AssertionError):
        check(ogc_schemas, "featureCollectionGeoJSON.yaml", {"type": "FeatureCollection"})


def test_landing_page_matches_schema(client: httpx.Client, ogc_schemas: Registry) -> None:
    response = client.get("/ogc")
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    check(ogc_schemas, "landingPage.yaml", document)
    links = {link["rel"]: link for link in document["links"]}
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["href"].startswith(f"{client.base_url}/ogc/api")
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["data"]["href"].startswith(f"{client.base_url}/ogc/collections")


def test_conformance_lists_part1_classes(client: httpx.Client, ogc_schemas: Registry) -> None:
    document = client.get("/ogc/conformance").json()
    check(ogc_schemas, "confClasses.yaml", document)
    example = shared_data("ogcapi-features", "spec-1.0.1-examples", "conformance.json")
    expected = set(yaml.safe_load(example.read_text())["conformsTo"])
    assert set(document["conformsTo"]) == expected


def test_collections_match_schema(client: httpx.Client, ogc_schemas: Registry) -> None:
    document = client.get("/ogc/collections").json()
    check(ogc_schemas, "collections.yaml", document)
    by_id = {entry["id"]: entry for entry in document["collections"]}
    assert list(by_id) == ["plots", "farms", "devices", "tracks"]
    for entry in by_id.values():
        assert entry["itemType"] == "feature"
        assert entry["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        assert any(link["rel"] == "items" and link["type"] == "application/geo+json"
                   for link in entry["links"])
    assert by_id["plots"]["extent"]["spatial"]["bbox"][0] == pytest.approx(
        [106.8, 11.5, 106.8108, 11.5068])
    assert by_id["plots"]["extent"]["temporal"]["interval"][0][1] is None
    assert by_id["tracks"]["extent"]["temporal"]["interval"][0] == [
        "2024-05-01T00:00:00Z", "2024-05-01T00:20:00Z"]
    assert "temporal" not in by_id["farms"]["extent"]
    check(ogc_schemas, "collection.yaml", client.get("/ogc/collections/farms").json())


@pytest.mark.parametrize("collection", ["plots", "farms", "devices", "tracks"])
def test_items_match_schema(client: httpx.Client, ogc_schemas: Registry,
                            collection: str) -> None:
    response = client.get(f"/ogc/collections/{collection}/items", params={"limit": 3})
    assert response.headers["content-type"] == "application/geo+json"
    document = response.json()
    check(ogc_schemas, "featureCollectionGeoJSON.yaml", document)
    assert document["numberReturned"] == len(document["features"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", document["timeStamp"])
    first = document["features"][0]
    item = client.get(f"/ogc/collections/{collection}/items/{first['id']}")
    assert item.headers["content-type"] == "application/geo+json"
    check(ogc_schemas, "featureGeoJSON.yaml", item.json())
    assert item.json()["properties"] == first["properties"]


def test_items_paging_links(client: httpx.Client) -> None:
    seen: list[Any] = []
    url: str | None = "/ogc/collections/plots/items?limit=10"
    for _page in range(5):
        if url is None:
            break
        document = client.get(url).json()
        assert document["numberMatched"] == PLOT_COUNT
        seen += [feature["id"] for feature in document["features"]]
        url = next((link["href"] for link in document["links"] if link["rel"] == "next"), None)
    assert url is None
    assert sorted(seen) == list(range(1, PLOT_COUNT + 1))


def test_plot_area_has_unit_in_name(client: httpx.Client, dataset: dict[str, Any]) -> None:
    document = client.get("/ogc/collections/plots/items",
                          params={"farm_code": "NT2", "limit": 100}).json()
    assert document["numberMatched"] == PLOT_COUNT - 2 * COLUMNS
    properties = document["features"][0]["properties"]
    assert properties["area_ha"] == pytest.approx(dataset["areas"][properties["code"]], abs=1e-4)


def test_api_definition_parameters_match_ogc(client: httpx.Client) -> None:
    response = client.get("/ogc/api")
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0")
    ours = document["components"]["parameters"]
    folder = shared_data("ogcapi-features", "openapi-1.0.1", "parameters")
    for name in ("bbox", "limit", "datetime"):
        reference = yaml.safe_load((folder / f"{name}.yaml").read_text())
        for key in ("name", "in", "required", "style", "explode"):
            assert ours[name][key] == reference[key], (name, key)
        assert ours[name]["schema"]["type"] == reference["schema"]["type"]
    limit = yaml.safe_load((folder / "limit.yaml").read_text())["schema"]
    assert {key: ours["limit"]["schema"][key] for key in ("minimum", "maximum", "default")} == \
        {key: limit[key] for key in ("minimum", "maximum", "default")}
    bbox = yaml.safe_load((folder / "bbox.yaml").read_text())["schema"]
    assert ours["bbox"]["schema"]["oneOf"] == bbox["oneOf"]
    assert ours["bbox"]["schema"]["items"] == bbox["items"]
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/plots/items",
                 "/ogc/collections/plots/items/{featureId}"):
        assert path in document["paths"]


# --- errors -----------------------------------------------------------------------------------

BAD_REQUESTS = [
    # (query, parameter named in the first problem)
    ({"bbox": "106.8,11.5,106.9"}, "bbox"),
    ({"bbox": "106.9,11.5,106.8,11.6"}, "bbox"),
    ({"bbox": "106.8,-91,106.9,11.6"}, "bbox"),
    ({"limit": "0"}, "limit"),
    ({"limit": "10001"}, "limit"),
    ({"datetime": "2024-05-01T08:00:00"}, "datetime"),
    ({"datetime": "2024-05-01T08:00"}, "datetime"),
    ({"datetime": "01/05/2024"}, "datetime"),
    ({"offset": "x"}, "offset"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("query", "parameter"), BAD_REQUESTS)
def test_items_bad_parameter_is_400(client: httpx.Client, query: dict[str, str],
                                    parameter: str) -> None:
    response = client.get("/ogc/collections/plots/items", params={**query, "lang": "en"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parameter_invalid"
    assert error["problems"][0]["parameter"] == parameter
    assert error["detail"]


def test_error_messages_follow_language(client: httpx.Client) -> None:
    error = client.get("/ogc/collections/plots/items", params={"limit": "0"}).json()["error"]
    assert error["message"].startswith("limit 0 không hợp lệ")
    assert error["problems"][0]["message"].startswith("limit 0 không hợp lệ")
    english = client.get("/ogc/collections/plots/items",
                         params={"limit": "0", "lang": "en"}).json()["error"]
    assert english["message"].startswith("limit 0 is invalid")
    assert english["problems"][0]["message"].startswith("limit 0 is invalid")
    header = client.get("/ogc/collections/plots/items", params={"limit": "0"},
                        headers={"Accept-Language": "en-GB,en;q=0.8"}).json()["error"]
    assert header["problems"][0]["message"].startswith("limit 0 is invalid")


@pytest.mark.parametrize("path", ["/ogc/collections/roads", "/ogc/collections/roads/items",
                                  "/ogc/collections/roads/items/1"])
def test_unknown_collection_is_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "collection_not_found"


@pytest.mark.parametrize("feature", ["999", "abc"])
def test_unknown_feature_is_404(client: httpx.Client, feature: str) -> None:
    response = client.get(f"/ogc/collections/plots/items/{feature}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "feature_not_found"


def test_unknown_parameter_on_landing_is_400(client: httpx.Client) -> None:
    assert client.get("/ogc", params={"limit": "5"}).status_code == 400


# --- HTML and negotiation ---------------------------------------------------------------------

HTML_PATHS = ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections",
              "/ogc/collections/plots", "/ogc/collections/plots/items",
              "/ogc/collections/plots/items/1", "/ogc/collections/devices/items",
              "/ogc/collections/tracks/items", "/ogc/collections/farms/items/1"]


@pytest.mark.parametrize("path", HTML_PATHS)
def test_html_pages_in_both_languages(client: httpx.Client, path: str) -> None:
    vietnamese = client.get(path, params={"f": "html"})
    english = client.get(path, params={"f": "html", "lang": "en"})
    for response in (vietnamese, english):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in vietnamese.text
    assert '<html lang="en">' in english.text
    assert vietnamese.text != english.text


def test_accept_header_chooses_html(client: httpx.Client) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = client.get("/ogc/collections/plots/items", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    assert "Lô cây" in page.text
    assert "L00" in page.text
    assert "Diện tích" in page.text
    forced = client.get("/ogc/collections/plots/items?f=json", headers={"Accept": browser})
    assert forced.headers["content-type"] == "application/geo+json"


def test_plot_item_page_links_plot_page(client: httpx.Client) -> None:
    page = client.get("/ogc/collections/plots/items/1", params={"f": "html", "lang": "en"})
    assert f'href="{client.base_url}/plots/1?lang=en"' in page.text
    document = client.get("/ogc/collections/plots/items/1").json()
    related = [link for link in document["links"] if link["rel"] == "related"]
    assert related[0]["href"] == f"{client.base_url}/plots/1"


def test_datetime_with_offset_over_http(client: httpx.Client) -> None:
    before = client.get("/ogc/collections/plots/items",
                        params={"datetime": "2000-01-01T07:00:00+07:00"}).json()
    now = client.get("/ogc/collections/plots/items",
                     params={"datetime": "2000-01-01T00:00:00Z/..", "limit": 100}).json()
    assert before["numberMatched"] == 0
    assert now["numberMatched"] == PLOT_COUNT
