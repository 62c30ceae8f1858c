"""Plot boundaries of a simulated farm: a VRG-style grid of blocks separated by roads, with
irregular edges.

Each farm is laid out in its own metre frame (x east, y north before the farm's rotation). Every
vertex of a plot only moves inwards from its grid cell, so plots never overlap and the roads
between them stay at least their nominal width.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from shapely.geometry import Point, Polygon

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
PLOT_ROAD_M = 6.0  # road between two plots
TRUNK_ROAD_M = 8.0  # every third gap is a trunk road
# Cell sizes in metres: about 500 x 500 m (25 ha) on flat land, smaller on rolling land.
CELL_SIZE_M = {"flat": (480.0, 525.0), "rolling": (290.0, 400.0)}
INNER_EDGE_JITTER_M = 10.0  # how far a vertex on a side facing another plot may move inwards
OUTER_EDGE_JITTER_M = 45.0  # on the farm boundary (streams, ravines, forest edge)
CORNER_JITTER_M = 6.0
SIDE_SEGMENTS = 5


@dataclass(frozen=True, slots=True)
class FarmSite:
    """Location and land type of a farm."""

    lon: float  # origin of the farm grid (its south-west corner before rotation)
    lat: float
    terrain: str  # "flat" (slope below 8 %) or "rolling"
    rotation_deg: float  # counter-clockwise; rows run north-south on flat land, so 0 there
    plot_count: int


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """Maps farm metres to WGS 84 longitude and latitude (equirectangular, fine over a few km)."""

    lon: float
    lat: float
    rotation_deg: float

    def to_lon_lat(self, x: float, y: float) -> tuple[float, float]:
        angle = math.radians(self.rotation_deg)
        east = x * math.cos(angle) - y * math.sin(angle)
        north = x * math.sin(angle) + y * math.cos(angle)
        metres_per_degree_lon = METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(self.lat))
        return self.lon + east / metres_per_degree_lon, self.lat + north / METRES_PER_DEGREE_LAT

    def polygon(self, local: Polygon) -> Polygon:
        return Polygon([self.to_lon_lat(x, y) for x, y in local.exterior.coords])


@dataclass(frozen=True, slots=True)
class PlotShape:
    """One plot of a farm grid: its cell, its boundary in farm metres and in lon/lat."""

    row: int  # 0 is the southern row
    col: int  # 0 is the western column
    local: Polygon
    geometry: Polygon


def _gap_widths(count: int) -> list[float]:
    return [TRUNK_ROAD_M if (index + 1) % 3 == 0 else PLOT_ROAD_M for index in range(count)]


def _choose_cells(rows: int, cols: int, plot_count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Keep the cells nearest the grid centre (with noise), so the farm outline is irregular."""
    centre_row, centre_col = (rows - 1) / 2, (cols - 1) / 2
    ranked = sorted(
        ((row, col) for row in range(rows) for col in range(cols)),
        key=lambda cell: math.hypot(cell[0] - centre_row, cell[1] - centre_col) + rng.uniform(0, 1.2),
    )
    return sorted(ranked[:plot_count])


def _side(start: tuple[float, float], end: tuple[float, float], inward: tuple[float, float],
          jitter_m: float, rng: random.Random) -> list[tuple[float, float]]:
    """Points of one side from `start` (included) to `end` (excluded), pushed inwards at random."""
    points = [start]
    for step in range(1, SIDE_SEGMENTS):
        fraction = step / SIDE_SEGMENTS
        offset = rng.uniform(0, jitter_m)
        points.append((
            start[0] + (end[0] - start[0]) * fraction + inward[0] * offset,
            start[1] + (end[1] - start[1]) * fraction + inward[1] * offset,
        ))
    return points


def _cell_polygon(x0: float, y0: float, x1: float, y1: float, outer: dict[str, bool],
                  rng: random.Random) -> Polygon:
    def corner(x: float, y: float, sign_x: int, sign_y: int) -> tuple[float, float]:
        return (x + sign_x * rng.uniform(0, CORNER_JITTER_M), y + sign_y * rng.uniform(0, CORNER_JITTER_M))

    south_west = corner(x0, y0, 1, 1)
    south_east = corner(x1, y0, -1, 1)
    north_east = corner(x1, y1, -1, -1)
    north_west = corner(x0, y1, 1, -1)

    def jitter(side: str) -> float:
        return OUTER_EDGE_JITTER_M if outer[side] else INNER_EDGE_JITTER_M

    ring = (
        _side(south_west, south_east, (0, 1), jitter("south"), rng)
        + _side(south_east, north_east, (-1, 0), jitter("east"), rng)
        + _side(north_east, north_west, (0, -1), jitter("north"), rng)
        + _side(north_west, south_west, (1, 0), jitter("west"), rng)
    )
    polygon = Polygon(ring)
    if not polygon.is_valid:  # NOTE: not seen with these jitters; a plain rectangle is the fallback
        polygon = Polygon([south_west, south_east, north_east, north_west])
    return polygon


def farm_plots(site: FarmSite, rng: random.Random) -> list[PlotShape]:
    """Lay out `site.plot_count` plots, ordered row by row from the south-west."""
    cols = math.ceil(math.sqrt(site.plot_count * 1.25))
    rows = math.ceil(site.plot_count * 1.25 / cols)
    low, high = CELL_SIZE_M[site.terrain]
    widths = [rng.uniform(low, high) for _ in range(cols)]
    heights = [rng.uniform(low, high) for _ in range(rows)]
    col_gaps, row_gaps = _gap_widths(cols), _gap_widths(rows)
    xs = [sum(widths[:c]) + sum(col_gaps[:c]) for c in range(cols)]
    ys = [sum(heights[:r]) + sum(row_gaps[:r]) for r in range(rows)]
    cells = _choose_cells(rows, cols, site.plot_count, rng)
    chosen = set(cells)
    frame = LocalFrame(site.lon, site.lat, site.rotation_deg)

    shapes = []
    for row, col in cells:
        outer = {
            "south": (row - 1, col) not in chosen,
            "north": (row + 1, col) not in chosen,
            "west": (row, col - 1) not in chosen,
            "east": (row, col + 1) not in chosen,
        }
        local = _cell_polygon(xs[col], ys[row], xs[col] + widths[col], ys[row] + heights[row], outer, rng)
        shapes.append(PlotShape(row, col, local, frame.polygon(local)))
    return shapes


def point_inside(site: FarmSite, shape: PlotShape, rng: random.Random, *,
                 inset_m: float = 25.0) -> tuple[float, float]:
    """Draw a random position (lon, lat) at least `inset_m` metres inside the plot boundary."""
    inner = shape.local.buffer(-inset_m)
    if inner.is_empty:
        inner = shape.local.buffer(-1.0)
    min_x, min_y, max_x, max_y = inner.bounds
    frame = LocalFrame(site.lon, site.lat, site.rotation_deg)
    for _ in range(1_000):
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if inner.contains(Point(x, y)):
            return frame.to_lon_lat(x, y)
    centre = inner.representative_point()
    return frame.to_lon_lat(centre.x, centre.y)
