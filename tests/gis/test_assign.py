"""Bulk plot assignment: the grid index against shapely one point at a time and PostGIS."""

from __future__ import annotations

import math

import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from vuonso.gis.assign import PlotIndex, load_plot_index, refresh_plot_index
from vuonso.gis.plots import (
    PlotFields,
    create_company,
    create_farm,
    create_plot,
    set_geometry,
    workspace_id,
)

LON, LAT = 108.0, 14.0
# 1/1024 degree (about 108 m). Vertices sit on multiples of UNIT / 8. They, the edge midpoints and
# the lattice points below are then short binary fractions, so GEOS and PostGIS evaluate their
# orientation tests without rounding and agree on points exactly on an edge.
UNIT = 1 / 1024


def at(x: float, y: float) -> tuple[float, float]:
    return LON + x * UNIT, LAT + y * UNIT


def square(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return box(*at(x0, y0), *at(x1, y1))


# Created in this order, so plot ids follow it. Names are the test's own labels.
PLOTS: list[tuple[str, BaseGeometry]] = [
    ("A", square(0, 0, 4, 4)),
    ("B", square(4, 0, 8, 4)),  # shares x=4 with A, which has the lower id
    ("D", square(4, 4, 8, 8)),  # created before C, so it wins their shared edge x=4
    ("C", square(0, 4, 4, 8)),
    ("E", Polygon(square(10, 0, 18, 8).exterior.coords, [square(12, 2, 16, 6).exterior.coords])),
    ("F", square(13, 3, 15, 5)),  # an island plot inside the hole of E
    ("G", MultiPolygon([Polygon([at(20, 0), at(24, 0), at(20, 4)]), square(24, 4, 28, 8)])),
    ("H", square(2, 2, 6, 6)),  # overlaps A, B, C and D, which all have lower ids
    ("I", square(30, 0, 32, 2)),
    ("J", square(32, 2, 34, 4)),  # touches I at one vertex only
    ("K", Polygon([at(36, 0), at(40, 0), at(40, 4), at(38, 1.5), at(36, 4)])),  # concave
]


def brute_force(ids: list[int], geometries: list[BaseGeometry], x: np.ndarray,
                y: np.ndarray) -> np.ndarray:
    """Return the lowest id of the plots that shapely finds intersecting each point, one by one."""
    answers = np.full(len(x), -1, dtype=np.int64)
    for number, (lon, lat) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        if math.isnan(lon) or math.isnan(lat):
            continue
        point = Point(lon, lat)
        for plot_id, geometry in sorted(zip(ids, geometries, strict=True), key=lambda p: p[0]):
            if geometry.intersects(point):
                answers[number] = plot_id
                break
    return answers


def postgis(conn: psycopg.Connection, workspace: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the lowest id of the current plots that PostGIS ST_Intersects finds for each point."""
    rows = conn.execute(
        "SELECT (SELECT g.plot_id FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id"
        "  WHERE g.valid_to IS NULL AND p.workspace_id = %s"
        "  AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326))"
        "  ORDER BY g.plot_id LIMIT 1)"
        " FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS u(x, y, i) ORDER BY u.i",
        (workspace, x.tolist(), y.tolist()),
    ).fetchall()
    return np.array([-1 if row[0] is None else row[0] for row in rows], dtype=np.int64)


def sample_points(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Return vertices, edge points, a lattice over every plot and hole, and random points."""
    rings = [ring for _name, geometry in PLOTS for ring in shapely.get_rings(
        shapely.get_parts(geometry))]
    vertices = shapely.get_coordinates(rings)
    edge_points = []
    for ring in rings:
        coords = shapely.get_coordinates(ring)
        for fraction in (0.25, 0.5, 0.75):
            edge_points.append(coords[:-1] + (coords[1:] - coords[:-1]) * fraction)
    steps = np.arange(-2, 42.25, 0.25)
    lattice = np.array([at(sx, sy) for sx in steps for sy in np.arange(-2, 10.25, 0.25)])
    rng = np.random.default_rng(seed)
    random = np.column_stack([LON + rng.uniform(-3, 43, 3000) * UNIT,
                              LAT + rng.uniform(-3, 11, 3000) * UNIT])
    points = np.vstack([vertices, *edge_points, lattice, random])
    return points[:, 0].copy(), points[:, 1].copy()


@pytest.fixture()
def stored_plots(db: psycopg.Connection) -> dict[str, int]:
    company = create_company(db, "CT-A", "Công ty thử gán lô")
    farm = create_farm(db, company, "NT-A", "Nông trường thử gán lô")
    return {name: create_plot(db, farm, PlotFields(code=name, crop="rubber"), geometry)
            for name, geometry in PLOTS}


@pytest.mark.parametrize("cell_size_deg", [None, UNIT / 8, UNIT / 3, UNIT * 0.7, UNIT * 50])
def test_index_matches_shapely_and_postgis(db: psycopg.Connection, stored_plots: dict[str, int],
                                           cell_size_deg: float | None) -> None:
    workspace = workspace_id(db)
    index = load_plot_index(db, workspace, cell_size_deg=cell_size_deg)
    x, y = sample_points()
    ids = [stored_plots[name] for name, _geometry in PLOTS]

    found = index.assign(x, y)
    expected = brute_force(ids, [geometry for _name, geometry in PLOTS], x, y)
    from_postgis = postgis(db, workspace, x, y)

    assert np.array_equal(expected, from_postgis), "shapely and PostGIS disagree on the test data"
    wrong = np.flatnonzero(found != expected)
    assert len(wrong) == 0, [(x[i], y[i], found[i], expected[i]) for i in wrong[:10]]


def test_default_cells_mix_fast_and_exact_paths(db: psycopg.Connection,
                                                stored_plots: dict[str, int]) -> None:
    index = load_plot_index(db, workspace_id(db))
    x, y = sample_points()
    share = index.mixed_share(x, y)
    assert 0.0 < share < 1.0


@pytest.mark.parametrize(("x", "y", "expected"), [
    (4, 2, "A"),  # edge shared by A and B
    (4, 6, "D"),  # edge shared by D and C: D has the lower id although C lies west
    (4, 4, "A"),  # corner of A, B, C, D and inside H
    (3, 3, "A"),  # inside both A and H
    (5, 5, "D"),  # inside both D and H
    (14, 1, "E"),
    (12, 4, "E"),  # on the hole's boundary
    (12.5, 2.5, None),  # in the hole of E, outside F
    (14, 4, "F"),
    (13, 3, "F"),  # corner of the island
    (22, 2, "G"),  # on the diagonal edge of G's triangle
    (22.5, 2.5, None),  # just beyond that edge
    (26, 6, "G"),  # G's second part
    (32, 2, "I"),  # vertex shared by I and J
    (33, 3, "J"),
    (38, 1.5, "K"),  # reflex vertex of the concave plot
    (38, 3, None),  # in the notch of the concave plot
    (9, 4, None),  # between plots
    (-1, -1, None),  # outside the bounds of every plot
    (500, 500, None),
])
def test_named_points(db: psycopg.Connection, stored_plots: dict[str, int], x: float, y: float,
                      expected: str | None) -> None:
    index = load_plot_index(db, workspace_id(db))
    lon, lat = at(x, y)
    found = index.assign(np.array([lon]), np.array([lat]))
    assert found.tolist() == [stored_plots[expected] if expected else -1]


def test_nan_coordinates_match_nothing() -> None:
    index = PlotIndex([1], [square(0, 0, 4, 4)])
    lon, lat = at(2, 2)
    found = index.assign([math.nan, lon, lon], [lat, math.nan, lat])
    assert found.tolist() == [-1, -1, 1]


def test_voronoi_plots_match_strtree() -> None:
    rng = np.random.default_rng(11)
    seeds = shapely.multipoints(rng.uniform(0, 1, (400, 2)) * [0.2, 0.2] + [LON, LAT])
    frame = box(LON, LAT, LON + 0.2, LAT + 0.2)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds)), frame)
    # Every fifth cell gets a hole and every seventh is left out, so gaps exist between plots.
    geometries = []
    for number, cell in enumerate(cells):
        if number % 7 == 3:
            continue
        if number % 5 == 0:
            cell = cell.difference(cell.centroid.buffer(0.001))
        geometries.append(cell)
    ids = rng.permutation(np.arange(100, 100 + len(geometries)))
    index = PlotIndex(ids, geometries)

    vertices = shapely.get_coordinates(geometries)
    x = np.concatenate([rng.uniform(LON - 0.01, LON + 0.21, 200_000), vertices[:, 0]])
    y = np.concatenate([rng.uniform(LAT - 0.01, LAT + 0.21, 200_000), vertices[:, 1]])
    tree = shapely.STRtree(geometries)
    point_numbers, plot_numbers = tree.query(shapely.points(x, y), predicate="intersects")
    expected = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(expected, point_numbers, ids[plot_numbers])
    expected[expected == np.iinfo(np.int64).max] = -1

    found = index.assign(x, y)
    assert np.count_nonzero(expected == -1) > 1000
    assert np.array_equal(found, expected)


def test_invalid_geometry_matches_prepared_shapely() -> None:
    bow_tie = Polygon([at(0, 0), at(4, 4), at(4, 0), at(0, 4)])
    neighbour = square(5, 0, 9, 4)
    index = PlotIndex([2, 1], [bow_tie, neighbour], cell_size_deg=UNIT / 4)
    rng = np.random.default_rng(3)
    x = LON + rng.uniform(-1, 10, 20_000) * UNIT
    y = LAT + rng.uniform(-1, 5, 20_000) * UNIT

    shapely.prepare(bow_tie)
    expected = np.where(shapely.intersects_xy(neighbour, x, y), 1,
                        np.where(shapely.intersects_xy(bow_tie, x, y), 2, -1))
    assert np.array_equal(index.assign(x, y), expected)


def test_empty_index_and_empty_geometries() -> None:
    lon, lat = at(1, 1)
    assert PlotIndex([], []).assign([lon], [lat]).tolist() == [-1]
    index = PlotIndex([5, 6], [Polygon(), square(0, 0, 2, 2)])
    assert index.assign([lon], [lat]).tolist() == [6]
    assert index.plot_ids.tolist() == [6]


def test_bad_input_raises_value_error() -> None:
    with pytest.raises(ValueError, match="same length"):
        PlotIndex([1, 2], [square(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="unique"):
        PlotIndex([3, 3], [square(0, 0, 1, 1), square(2, 0, 3, 1)])
    with pytest.raises(ValueError, match="cell_size_deg"):
        PlotIndex([1], [square(0, 0, 1, 1)], cell_size_deg=0.0)
    index = PlotIndex([1], [square(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="same length"):
        index.assign([LON, LON], [LAT])


def test_refresh_rebuilds_only_after_a_change(db: psycopg.Connection,
                                              stored_plots: dict[str, int]) -> None:
    workspace = workspace_id(db)
    index = load_plot_index(db, workspace)
    assert refresh_plot_index(db, index) is index

    lon, lat = at(50, 50)
    assert index.assign([lon], [lat]).tolist() == [-1]
    set_geometry(db, stored_plots["K"], square(49, 49, 51, 51))
    refreshed = refresh_plot_index(db, index)
    assert refreshed is not index
    assert refreshed.assign([lon], [lat]).tolist() == [stored_plots["K"]]
    assert refresh_plot_index(db, refreshed) is refreshed

    db.execute("DELETE FROM gis.plots WHERE id = %s", (stored_plots["K"],))
    after_delete = refresh_plot_index(db, refreshed)
    assert after_delete is not refreshed
    assert after_delete.assign([lon], [lat]).tolist() == [-1]


def test_refresh_needs_a_loaded_index() -> None:
    with pytest.raises(ValueError, match="load_plot_index"):
        refresh_plot_index(None, PlotIndex([1], [square(0, 0, 1, 1)]))
