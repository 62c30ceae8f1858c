"""Geodesic plot areas: shared real plots against geographiclib, holes, parts, Z, `gis area`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from geographiclib.geodesic import Geodesic
from geographiclib.polygonarea import PolygonArea
from shapely.geometry import MultiPolygon, Polygon, shape

from tests.conftest import shared_data
from vuonso.gis.area import area_ha
from vuonso.gis.cli_plots import area_command

WHISP_FILES = ("nicaragua_coffee_efico_subset_no_names.geojson", "test_10ha.geojson")
EUDR_FILES = ("ec-geojson-file-description-v1.3-example-type-I.geojson",
              "ec-api-cf2-v1.4-submitDds-geometryGeojson-decoded.geojson")


def reference_hectares(geometry: dict) -> float:
    """Area by geographiclib's PolygonArea (not pyproj): shells minus holes, parts summed."""
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    total = 0.0
    for rings in polygons:
        for number, ring in enumerate(rings):
            measure = PolygonArea(Geodesic.WGS84)
            for lon, lat, *_ in ring[:-1]:
                measure.AddPoint(lat, lon)
            ring_area = abs(measure.Compute(False, True)[2])
            total += ring_area if number == 0 else -ring_area
    return total / 10_000


def features_of(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize("name", WHISP_FILES)
def test_whisp_areas_match_geographiclib(name: str) -> None:
    path = shared_data("plots-whisp", name)
    features = features_of(path)
    assert features
    for feature in features:
        expected = reference_hectares(feature["geometry"])
        computed = area_ha(shape(feature["geometry"]))
        assert computed == pytest.approx(expected, rel=1e-3), feature["properties"]


def test_whisp_ten_hectare_square() -> None:
    feature = features_of(shared_data("plots-whisp", "test_10ha.geojson"))[0]
    assert area_ha(shape(feature["geometry"])) == pytest.approx(10.0, rel=0.01)


@pytest.mark.parametrize("name", EUDR_FILES)
def test_eudr_examples_areas_compute(name: str) -> None:
    features = features_of(shared_data("eudr", name))
    assert features
    for feature in features:
        computed = area_ha(shape(feature["geometry"]))
        assert computed > 0
        assert computed == pytest.approx(reference_hectares(feature["geometry"]), rel=1e-3)


def test_eudr_type_one_area_matches_declared() -> None:
    feature = features_of(shared_data(
        "eudr", "ec-geojson-file-description-v1.3-example-type-I.geojson"))[0]
    declared = feature["properties"]["Area"]
    # The declared figure is the producer's own; agreement within 5% shows the unit is hectares.
    assert area_ha(shape(feature["geometry"])) == pytest.approx(declared, rel=0.05)


SHELL = [(108.0, 14.0), (108.01, 14.0), (108.01, 14.01), (108.0, 14.01), (108.0, 14.0)]
HOLE = [(108.002, 14.002), (108.004, 14.002), (108.004, 14.004), (108.002, 14.004),
        (108.002, 14.002)]


@pytest.mark.parametrize(("shell", "hole"), [
    (SHELL, HOLE), (SHELL, HOLE[::-1]), (SHELL[::-1], HOLE), (SHELL[::-1], HOLE[::-1]),
])
def test_hole_subtracted_whatever_winding(shell: list, hole: list) -> None:
    whole = area_ha(Polygon(shell))
    hole_area = area_ha(Polygon(hole))
    assert area_ha(Polygon(shell, [hole])) == pytest.approx(whole - hole_area, rel=1e-9)
    assert hole_area > 0


def test_multipolygon_parts_summed_and_z_ignored() -> None:
    other = [(x + 0.02, y) for x, y in SHELL]
    flat = MultiPolygon([Polygon(SHELL), Polygon(other)])
    raised = MultiPolygon([Polygon([(x, y, 700.0) for x, y in SHELL]),
                           Polygon([(x, y, 50.0) for x, y in other])])
    assert area_ha(flat) == pytest.approx(area_ha(Polygon(SHELL)) + area_ha(Polygon(other)))
    assert area_ha(raised) == pytest.approx(area_ha(flat), rel=1e-12)


def test_area_command_prints_index_id_hectares(tmp_path: Path) -> None:
    path = tmp_path / "plots.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "L1"},
         "geometry": {"type": "Polygon", "coordinates": [SHELL, HOLE]}},
        {"type": "Feature", "id": 7, "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [[(x, y, 3.0) for x, y in SHELL]]}},
        {"type": "Feature", "properties": {"name": "no id"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[SHELL]]}},
    ]}), encoding="utf-8")
    result = CliRunner().invoke(area_command, [str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    expected = [f"{area_ha(Polygon(SHELL, [HOLE])):.4f}", f"{area_ha(Polygon(SHELL)):.4f}",
                f"{area_ha(Polygon(SHELL)):.4f}"]
    assert lines == [f"0\tL1\t{expected[0]}", f"1\t7\t{expected[1]}", f"2\t\t{expected[2]}"]


def test_area_command_reprojects_vn2000(tmp_path: Path) -> None:
    # A 100 m x 100 m square in VN-2000 / UTM 48N is about 1 ha on the ground (scale 0.9996).
    square = [(600000, 1550000), (600100, 1550000), (600100, 1550100), (600000, 1550100),
              (600000, 1550000)]
    path = tmp_path / "utm.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                            "coordinates": [square]}}]}))
    result = CliRunner().invoke(area_command, [str(path), "--crs", "EPSG:3405"])
    assert result.exit_code == 0, result.output
    hectares = float(result.output.split("\t")[2])
    assert hectares == pytest.approx(1.0, abs=0.002)
