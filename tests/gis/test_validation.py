"""Geometry validation of plot features: a table of invalid inputs, repair and overlap tolerance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from vuonso.gis.area import area_m2
from vuonso.gis.crs import choose_source_crs, wgs84_transformer
from vuonso.gis.io.readers import read_plot_file
from vuonso.gis.validation import (
    OVERLAP_TOLERANCE_M2,
    CheckedGeometry,
    Problem,
    check_feature,
    overlap_limit_m2,
    overlaps_between,
    repair_geometry,
    self_intersections,
)

SQUARE = [[108.0, 14.0], [108.01, 14.0], [108.01, 14.01], [108.0, 14.01], [108.0, 14.0]]
BOWTIE = [[108.0, 14.0], [108.01, 14.01], [108.01, 14.0], [108.0, 14.01], [108.0, 14.0]]
# The ring dips below its own bottom edge and comes back up: two crossings on y = 14.0.
DOUBLE_CROSS = [[108.0, 14.0], [108.03, 14.0], [108.03, 14.01], [108.02, 14.01],
                [108.02, 13.99], [108.01, 13.99], [108.01, 14.02], [108.0, 14.02],
                [108.0, 14.0]]
FAR_HOLE = [[108.1, 14.1], [108.11, 14.1], [108.11, 14.11], [108.1, 14.1]]


def polygon(*rings: list) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


# (case, GeoJSON geometry, --crs, expected problem code, English message fragment)
INVALID_CASES = [
    ("bowtie", polygon(BOWTIE), None, "self_intersection", "crosses itself"),
    ("unclosed ring", polygon(SQUARE[:-1]), None, "ring_not_closed", "does not end"),
    ("two points", polygon([[108.0, 14.0], [108.01, 14.0], [108.0, 14.0]]), None,
     "too_few_points", "at least 3"),
    ("hole outside shell", polygon(SQUARE, FAR_HOLE), None, "hole_outside_shell", "hole"),
    ("empty", None, None, "empty_geometry", "no geometry"),
    ("point", {"type": "Point", "coordinates": [108.0, 14.0]}, None, "not_polygon", "Point"),
    ("line", {"type": "LineString", "coordinates": SQUARE}, None, "not_polygon", "LineString"),
    ("lat lon swapped", polygon([[y, x] for x, y in SQUARE]), None, "coordinates_swapped",
     "wrong order"),
    ("out of range", polygon([[x + 200, y] for x, y in SQUARE]), None,
     "coordinates_out_of_range", "-180..180"),
    ("UTM northing first", polygon([[1550000, 600000], [1550000, 600100], [1550100, 600100],
                                    [1550000, 600000]]), "EPSG:3405", "coordinates_swapped",
     "wrong order"),
    ("wrong zone", polygon([[600000, 1550000], [600100, 1550000], [600100, 1550100],
                            [600000, 1550000]]), "EPSG:3406", "outside_crs_area",
     "outside the area"),
]


def checked(tmp_path: Path, geometry: dict[str, Any] | None,
            crs: str | None = None) -> CheckedGeometry:
    path = tmp_path / "case.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "L1"}, "geometry": geometry}]}))
    source = read_plot_file(path)
    chosen = choose_source_crs(source.format, source.declared_crs, crs)
    return check_feature(source.features[0], chosen, wgs84_transformer(chosen.crs))


@pytest.mark.parametrize(("case", "geometry", "crs", "code", "fragment"), INVALID_CASES,
                         ids=[row[0] for row in INVALID_CASES])
def test_invalid_geometry_named(tmp_path: Path, case: str, geometry: dict[str, Any] | None,
                                crs: str | None, code: str, fragment: str) -> None:
    result = checked(tmp_path, geometry, crs)
    codes = [problem for problem, _params, _where in result.problems]
    assert code in codes, f"{case}: {result.problems}"
    problem, params, where = next(p for p in result.problems if p[0] == code)
    message = Problem(0, None, "L1", problem, params, where).as_dict("en")["message"]
    assert fragment in message
    assert message.startswith("Feature #0 (L1)")


def test_valid_square_has_no_problem(tmp_path: Path) -> None:
    result = checked(tmp_path, polygon(SQUARE))
    assert result.problems == []
    assert isinstance(result.geometry, MultiPolygon)


def test_self_intersection_located(tmp_path: Path) -> None:
    result = checked(tmp_path, polygon(BOWTIE))
    locations = [where for code, _params, where in result.problems if code == "self_intersection"]
    assert locations == [(pytest.approx(108.005), pytest.approx(14.005))]


def test_every_crossing_located() -> None:
    points = self_intersections(Polygon(DOUBLE_CROSS))
    assert len(points) == 2
    assert {(round(x, 6), round(y, 6)) for x, y in points} == {(108.01, 14.0), (108.02, 14.0)}


def test_vietnamese_message_by_default() -> None:
    message = Problem(2, "a", "L3", "self_intersection", {"count": 1}).as_dict()["message"]
    assert "tự cắt" in message
    assert "#2 (L3)" in message


def test_repair_bowtie_keeps_both_lobes() -> None:
    bowtie = MultiPolygon([Polygon(BOWTIE)])
    repaired = repair_geometry(bowtie)
    assert repaired is not None
    assert repaired.is_valid
    assert len(repaired.geoms) == 2
    # Two triangles of a quarter each: half of the square's area.
    assert area_m2(repaired) == pytest.approx(area_m2(Polygon(SQUARE)) / 2, rel=1e-3)


def test_repair_degenerate_returns_none() -> None:
    flat = MultiPolygon([Polygon([(108.0, 14.0), (108.01, 14.0), (108.02, 14.0), (108.0, 14.0)])])
    assert repair_geometry(flat) is None


def strip(width_deg: float) -> Polygon:
    return box(108.01 - width_deg, 14.0, 108.01, 14.01)


def test_overlap_tolerance_is_larger_of_two_figures() -> None:
    assert overlap_limit_m2(500.0, 2_000_000.0) == OVERLAP_TOLERANCE_M2
    assert overlap_limit_m2(300_000.0, 200_000.0) == pytest.approx(2_000.0)


@pytest.mark.parametrize(("width_deg", "rejected"), [
    (0.0, False),        # touching edges only
    (0.000005, False),   # ~0.55 m x 1.1 km = ~600 m², under 1% of the 123 ha square
    (0.0002, True),      # ~22 m x 1.1 km, well beyond 1%
])
def test_overlap_between_features(width_deg: float, rejected: bool) -> None:
    first = box(108.0, 14.0, 108.01, 14.01)
    second = box(108.01 - width_deg, 14.0, 108.02, 14.01)
    found = overlaps_between([first, second])
    assert bool(found) is rejected
    if rejected:
        assert found[0].first == 0
        assert found[0].second == 1
        assert found[0].area_m2 > overlap_limit_m2(area_m2(first), area_m2(second))
