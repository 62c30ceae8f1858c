"""Bulk assignment of GPS fixes to plots through an in-memory grid of the current boundaries.

Contract: `PlotIndex.assign(lons, lats)` returns, for each point, the lowest plot id among the
plots whose boundary intersects the point (interior or boundary, the closed set), or -1 when
there is none. It equals the result of `ST_Intersects(geom, point) ORDER BY plot_id LIMIT 1` in
PostGIS (as in `plots.plot_at`) and of `shapely.intersects_xy` tried on each plot in id order.
Points outside the plots' total bounds, NaN coordinates and empty geometries never match.

Method: the bounds of all plots are cut into square cells of `cell_size_deg` degrees. While the
index is built, each cell gets one of three labels:
- empty: no boundary passes within PAD_DEG of the cell and its centre is in no plot;
- interior: no boundary passes within PAD_DEG and the centre lies in one or more plots, so every
  point the cell can receive lies inside them, and the cell stores the lowest plot of them;
- mixed: a boundary passes within PAD_DEG of the cell. The cell stores the plots that may contain
  its points, in id order, and `assign` tests a point in a mixed cell against each of them with
  `shapely.intersects_xy` on the prepared geometry. The first plot that matches is returned.
The boundary cells are found by cutting every ring segment into pieces at most one cell long
and taking the cells their padded bounds overlap. Interior cells are filled by scanlines
through the cell centres with the even-odd rule. PAD_DEG (1e-9 degree, about 0.1 mm) is many
orders above double rounding of coordinates below 180 degrees (about 1e-13), so a point that
rounding puts into the next cell still lies in the padded cell its label was decided for.
A point in an empty or interior cell costs a few array look-ups. Only points in mixed cells
reach GEOS, so their share sets the speed. It shrinks as the cells get smaller.

Geometries that are invalid or not polygonal get no interior cells: every cell of their padded
bounds is mixed for them, and they are tested by shapely alone. GEOS itself answers differently
for prepared and plain geometries where the parts of an invalid MultiPolygon overlap, so the
contract above holds for valid geometries, which plot imports check.

Memory: cells are grouped in tiles of 16 x 16. A dense int32 table over all tiles of the bounds
points to the blocks of the tiles that contain at least one non-empty cell, with one int32 label
per cell (1 KiB per tile), and cells with the same candidate list share one copy of it. The
default cell is 1/DEFAULT_CELLS_PER_PLOT of the median plot size (the square root of a plot's
bounding-box area). It grows when the tile table would pass MAX_TILES entries or the plots would
cover more than MAX_PLOT_CELLS cells. `PlotIndex.memory_bytes` reports the total of the arrays;
with 10,000 plots of about 25 ha it is 11.4 MB (docs/benchmarks.md).

`load_plot_index` builds the index from the current geometries of a workspace and records their
IndexVersion. `refresh_plot_index` compares that version with the database and rebuilds only
when a geometry version was added, closed or deleted since.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

PAD_DEG = 1e-9
DEFAULT_CELLS_PER_PLOT = 16
MAX_TILES = 1 << 22
MAX_PLOT_CELLS = 1 << 24
TILE_SHIFT = 4
TILE_MASK = (1 << TILE_SHIFT) - 1
TILE_CELLS = 1 << (2 * TILE_SHIFT)
NO_PLOT = -1

_CURRENT_GEOMETRIES = (
    "SELECT g.id, g.plot_id, ST_AsBinary(g.geom) FROM gis.plot_geometries g"
    " JOIN gis.plots p ON p.id = g.plot_id"
    " WHERE g.valid_to IS NULL AND p.workspace_id = %s ORDER BY g.plot_id"
)
_CURRENT_VERSION = (
    "SELECT count(*), coalesce(max(g.id), 0), coalesce(sum(g.id), 0) FROM gis.plot_geometries g"
    " JOIN gis.plots p ON p.id = g.plot_id WHERE g.valid_to IS NULL AND p.workspace_id = %s"
)

Int64Array = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IndexVersion:
    """Fingerprint of a workspace's current geometry rows: their count, maximum and sum of ids.

    Geometry rows are never rewritten in place (`plots.set_geometry` closes one and inserts
    another). A new row takes a higher id from the sequence and raises the maximum, and a row
    closed or deleted without a new one lowers the count, so every change of the current
    boundaries changes the fingerprint.
    """

    count: int
    max_id: int
    id_sum: int


@dataclass(frozen=True, slots=True)
class _Grid:
    """Square cells of `cell` degrees from (x0, y0); cell (ix, iy) has id iy * nx + ix."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @property
    def tiles_x(self) -> int:
        return (self.nx + TILE_MASK) >> TILE_SHIFT

    @property
    def tiles_y(self) -> int:
        return (self.ny + TILE_MASK) >> TILE_SHIFT

    def column(self, x: FloatArray) -> Int64Array:
        """Return the column of each x, clipped to the grid."""
        return np.clip(np.floor((x - self.x0) / self.cell), 0, self.nx - 1).astype(np.int64)

    def row(self, y: FloatArray) -> Int64Array:
        return np.clip(np.floor((y - self.y0) / self.cell), 0, self.ny - 1).astype(np.int64)

    def tile_of(self, column: Int64Array, row: Int64Array) -> Int64Array:
        return (row >> TILE_SHIFT) * self.tiles_x + (column >> TILE_SHIFT)

    def tile(self, cells: Int64Array) -> Int64Array:
        return self.tile_of(cells % self.nx, cells // self.nx)

    def first_centre_at_or_after(self, values: FloatArray, origin: float, count: int) -> Int64Array:
        """Return the index of the first cell whose centre is >= each value, clipped to 0..count."""
        index = np.ceil((values - origin) / self.cell - 0.5)
        return np.clip(index, 0, count).astype(np.int64)


class PlotIndex:
    """Grid index of plot boundaries for bulk point look-ups; see the module docstring.

    NOTE: concurrent `assign` calls on one index from several threads are untested. GEOS builds
    the point locator of a prepared geometry lazily on its first test.
    """

    def __init__(self, plot_ids: ArrayLike, geometries: Sequence[BaseGeometry] | NDArray[np.object_],
                 *, cell_size_deg: float | None = None, workspace_id: int | None = None,
                 version: IndexVersion | None = None) -> None:
        ids = np.asarray(plot_ids, dtype=np.int64)
        shapes = np.asarray(geometries, dtype=object)
        if ids.ndim != 1 or shapes.shape != ids.shape:
            raise ValueError(f"plot_ids and geometries must be two 1-D sequences of the same "
                             f"length, got shapes {ids.shape} and {shapes.shape}")
        order = np.argsort(ids, kind="stable")
        ids, shapes = ids[order], shapes[order]
        if len(ids) > 1 and bool((ids[1:] == ids[:-1]).any()):
            repeated = sorted({int(i) for i in ids[1:][ids[1:] == ids[:-1]]})
            raise ValueError(f"plot ids must be unique; repeated: {repeated[:10]}")
        usable = ~shapely.is_empty(shapes)
        self.plot_ids: Int64Array = ids[usable]
        self.geometries: NDArray[np.object_] = shapes[usable]
        self.workspace_id = workspace_id
        self.version = version
        self.requested_cell_size_deg = cell_size_deg
        shapely.prepare(self.geometries)
        self._build(cell_size_deg)

    def _build(self, cell_size_deg: float | None) -> None:
        self.bounds: tuple[float, float, float, float] = (math.inf, math.inf, -math.inf, -math.inf)
        self._tile_block = np.full(1, -1, dtype=np.int32)
        self._cells = np.full(1, NO_PLOT, dtype=np.int32)
        self._set_start = np.zeros(1, dtype=np.int64)
        self._set_members = np.zeros(0, dtype=np.int32)
        if len(self.geometries) == 0:
            self.grid = _Grid(0.0, 0.0, 1.0, 1, 1)
            return
        west, south, east, north = (float(v) for v in shapely.total_bounds(self.geometries))
        self.bounds = (west, south, east, north)
        self.grid = _choose_grid(self.bounds, shapely.bounds(self.geometries), cell_size_deg)

        # Which plots may touch which cells: boundaries (mixed) and scanline interiors.
        polygonal = np.isin(shapely.get_type_id(self.geometries),
                            (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON))
        filled = polygonal & shapely.is_valid(self.geometries)
        plot_numbers = np.arange(len(self.geometries), dtype=np.int64)
        starts, ends, owner = _segments(self.geometries[filled], plot_numbers[filled])
        edge_cells, edge_plots = _boundary_cells(self.grid, starts, ends, owner)
        box_cells, box_plots = _bounds_cells(self.grid, self.geometries[~filled],
                                             plot_numbers[~filled])
        inner_cells, inner_plots = _interior_cells(self.grid, starts, ends, owner)
        self._store(np.concatenate([edge_cells, box_cells]), np.concatenate([edge_plots, box_plots]),
                    inner_cells, inner_plots)
        log.info("plot index built: %d plots, cell %.3g deg, %d x %d cells, %d blocks, %d "
                 "candidate lists, %.1f MB", len(self.plot_ids), self.grid.cell, self.grid.nx,
                 self.grid.ny, len(self._cells) // TILE_CELLS, len(self._set_start) - 1,
                 self.memory_bytes / 1e6)

    def _store(self, edge_cells: Int64Array, edge_plots: Int64Array, inner_cells: Int64Array,
               inner_plots: Int64Array) -> None:
        """Give a block to every tile that holds a cell of either list, then label the cells."""
        grid = self.grid
        present = np.zeros(grid.tiles_x * grid.tiles_y, dtype=bool)
        present[grid.tile(edge_cells)] = True
        present[grid.tile(inner_cells)] = True
        self._tile_block = np.where(present, np.cumsum(present) - 1, -1).astype(np.int32)
        edge_slots, inner_slots = self._slots(edge_cells), self._slots(inner_cells)

        # Cells away from every boundary: the lowest plot whose interior covers them.
        slot_count = int(np.count_nonzero(present)) * TILE_CELLS
        unset = np.iinfo(np.int32).max
        lowest = np.full(slot_count, unset, dtype=np.int32)
        np.minimum.at(lowest, inner_slots, inner_plots.astype(np.int32))
        labels = np.where(lowest == unset, NO_PLOT, lowest).astype(np.int32)

        # Cells near a boundary: every plot whose boundary or interior reaches them, in id order.
        mixed = np.zeros(slot_count, dtype=bool)
        mixed[edge_slots] = True
        near = mixed[inner_slots]
        plot_count = len(self.plot_ids)
        keys = _sorted_unique(np.concatenate([edge_slots, inner_slots[near]]) * plot_count
                              + np.concatenate([edge_plots, inner_plots[near]]))
        slots, plots = keys // plot_count, keys % plot_count
        first = np.flatnonzero(np.r_[True, slots[1:] != slots[:-1]])
        counts = np.diff(np.r_[first, len(keys)])
        labels[slots[first]] = -2 - self._share_candidates(plots, first, counts)
        self._cells = labels

    def _slots(self, cells: Int64Array) -> Int64Array:
        """Return the position of each cell in the block array; each cell's tile must have a block."""
        column, row = cells % self.grid.nx, cells // self.grid.nx
        block = self._tile_block[self.grid.tile_of(column, row)].astype(np.int64)
        return block * TILE_CELLS + (((row & TILE_MASK) << TILE_SHIFT) | (column & TILE_MASK))

    def _share_candidates(self, plots: Int64Array, first: Int64Array,
                          counts: Int64Array) -> NDArray[np.int32]:
        """Store each distinct candidate list once; return the list number of each mixed cell."""
        numbers = np.empty(len(first), dtype=np.int32)
        members: list[Int64Array] = []
        lengths: list[Int64Array] = []
        stored = 0
        for size in np.flatnonzero(np.bincount(counts)).tolist():
            chosen = np.flatnonzero(counts == size)
            lists = plots[first[chosen, None] + np.arange(size)]
            order = np.lexsort(lists.T[::-1])
            ordered = lists[order]
            new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
            numbers[chosen[order]] = stored + np.cumsum(new) - 1
            members.append(ordered[new].reshape(-1))
            lengths.append(np.full(int(np.count_nonzero(new)), size, dtype=np.int64))
            stored += int(np.count_nonzero(new))
        sizes = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
        self._set_start = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        self._set_members = (np.concatenate(members) if members
                             else np.zeros(0, dtype=np.int64)).astype(np.int32)
        return numbers

    @property
    def memory_bytes(self) -> int:
        """Bytes held by the grid arrays; the prepared GEOS geometries come on top."""
        arrays = (self._tile_block, self._cells, self._set_start, self._set_members, self.plot_ids)
        return sum(int(array.nbytes) for array in arrays)

    def _locate(self, lons: ArrayLike, lats: ArrayLike) -> tuple[FloatArray, FloatArray,
                                                                 NDArray[np.int32]]:
        """Return the coordinates as float64 arrays and the label of the cell of each point."""
        x = np.ascontiguousarray(lons, dtype=np.float64)
        y = np.ascontiguousarray(lats, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(f"lons and lats must be 1-D arrays of the same length, got shapes "
                             f"{x.shape} and {y.shape}")
        west, south, east, north = self.bounds
        inside = (x >= west) & (x <= east) & (y >= south) & (y <= north)
        grid = self.grid
        column = grid.column(np.where(inside, x, west))
        row = grid.row(np.where(inside, y, south))
        block = self._tile_block[grid.tile_of(column, row)]
        present = inside & (block >= 0)
        offset = ((row & TILE_MASK) << TILE_SHIFT) | (column & TILE_MASK)
        position = np.where(present, block.astype(np.int64) * TILE_CELLS + offset, 0)
        return x, y, np.where(present, self._cells[position], NO_PLOT).astype(np.int32)

    def mixed_share(self, lons: ArrayLike, lats: ArrayLike) -> float:
        """Return the share of the points that fall in mixed cells, which cost a GEOS test each."""
        _x, _y, labels = self._locate(lons, lats)
        return float(np.count_nonzero(labels <= -2)) / max(len(labels), 1)

    def assign(self, lons: ArrayLike, lats: ArrayLike) -> Int64Array:
        """Return the plot id containing each point, the lowest on shared boundaries, or -1."""
        x, y, labels = self._locate(lons, lats)
        numbers = np.full(len(x), NO_PLOT, dtype=np.int64)
        interior = labels >= 0
        numbers[interior] = labels[interior]

        # Mixed cells: test candidates in id order until one contains the point.
        pending = np.flatnonzero(labels <= -2)
        lists = -2 - labels[pending].astype(np.int64)
        next_member = self._set_start[lists]
        end = self._set_start[lists + 1]
        while len(pending):
            candidate = self._set_members[next_member]
            hit = shapely.intersects_xy(self.geometries[candidate], x[pending], y[pending])
            numbers[pending[hit]] = candidate[hit]
            next_member += 1
            keep = ~hit & (next_member < end)
            pending, next_member, end = pending[keep], next_member[keep], end[keep]

        found = numbers >= 0
        result = np.full(len(x), NO_PLOT, dtype=np.int64)
        result[found] = self.plot_ids[numbers[found]]
        return result


def _choose_grid(bounds: tuple[float, float, float, float], plot_bounds: FloatArray,
                 cell_size_deg: float | None) -> _Grid:
    """Pick the cell size (the requested one, or from the plot sizes) within the memory caps."""
    west, south, east, north = bounds
    width, height = max(east - west, PAD_DEG), max(north - south, PAD_DEG)
    sizes = np.sqrt(np.maximum(plot_bounds[:, 2] - plot_bounds[:, 0], PAD_DEG)
                    * np.maximum(plot_bounds[:, 3] - plot_bounds[:, 1], PAD_DEG))
    if cell_size_deg is None:
        cell = float(np.median(sizes)) / DEFAULT_CELLS_PER_PLOT
    elif cell_size_deg > 0 and math.isfinite(cell_size_deg):
        cell = float(cell_size_deg)
    else:
        raise ValueError(f"cell_size_deg must be a positive number of degrees, got {cell_size_deg}")
    smallest = max(math.sqrt(width * height / (MAX_TILES * TILE_CELLS)),
                   math.sqrt(float(np.sum(sizes ** 2)) / MAX_PLOT_CELLS), 1000 * PAD_DEG)
    if cell < smallest:
        log.info("plot index cell raised from %.3g to %.3g deg to stay within memory caps",
                 cell, smallest)
        cell = smallest
    return _Grid(west, south, cell, max(1, math.ceil(width / cell)),
                 max(1, math.ceil(height / cell)))


def _segments(geometries: NDArray[np.object_], numbers: Int64Array,
              ) -> tuple[FloatArray, FloatArray, Int64Array]:
    """Return the start and end of every ring segment of the polygons and the plot of each."""
    parts, part_owner = shapely.get_parts(geometries, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same_ring = coord_ring[1:] == coord_ring[:-1]
    owner = numbers[part_owner[ring_part[coord_ring[:-1][same_ring]]]]
    return coords[:-1][same_ring], coords[1:][same_ring], owner.astype(np.int64)


def _sorted_unique(values: Int64Array) -> Int64Array:
    """Return the sorted distinct values. A plain sort beats the hash table of numpy 2.x `unique`
    on these arrays of millions of cell keys."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _expand(counts: Int64Array) -> tuple[Int64Array, Int64Array]:
    """For items with `counts`, return (item, k) for k in 0..count-1 of every item."""
    item = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    step = np.arange(len(item), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, step


def _boundary_cells(grid: _Grid, starts: FloatArray, ends: FloatArray,
                    owner: Int64Array) -> tuple[Int64Array, Int64Array]:
    """List the cells within 2 * PAD_DEG of any segment piece, with the plot of that segment."""
    pieces = np.maximum(np.ceil(np.abs(ends - starts).max(axis=1) / grid.cell), 1).astype(np.int64)
    segment, step = _expand(pieces)
    delta = ends - starts
    first = starts[segment] + delta[segment] * (step / pieces[segment])[:, None]
    last = starts[segment] + delta[segment] * ((step + 1) / pieces[segment])[:, None]
    low = np.minimum(first, last) - 2 * PAD_DEG
    high = np.maximum(first, last) + 2 * PAD_DEG
    column_low, column_high = grid.column(low[:, 0]), grid.column(high[:, 0])
    row_low, row_high = grid.row(low[:, 1]), grid.row(high[:, 1])
    cells: list[Int64Array] = []
    plots: list[Int64Array] = []
    spread = int(max((column_high - column_low).max(initial=0), (row_high - row_low).max(initial=0)))
    for dx in range(spread + 1):
        for dy in range(spread + 1):
            keep = (column_low + dx <= column_high) & (row_low + dy <= row_high)
            cells.append((row_low[keep] + dy) * grid.nx + column_low[keep] + dx)
            plots.append(owner[segment[keep]])
    return np.concatenate(cells), np.concatenate(plots)


def _bounds_cells(grid: _Grid, geometries: NDArray[np.object_],
                  numbers: Int64Array) -> tuple[Int64Array, Int64Array]:
    """List every cell of the padded bounds of each geometry, with its plot number."""
    if len(geometries) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bounds = shapely.bounds(geometries)
    column_low, row_low = grid.column(bounds[:, 0] - 2 * PAD_DEG), grid.row(bounds[:, 1] - 2 * PAD_DEG)
    column_high, row_high = grid.column(bounds[:, 2] + 2 * PAD_DEG), grid.row(bounds[:, 3] + 2 * PAD_DEG)
    columns = column_high - column_low + 1
    item, step = _expand(columns * (row_high - row_low + 1))
    column = column_low[item] + step % columns[item]
    row = row_low[item] + step // columns[item]
    return row * grid.nx + column, numbers[item]


def _interior_cells(grid: _Grid, starts: FloatArray, ends: FloatArray,
                    owner: Int64Array) -> tuple[Int64Array, Int64Array]:
    """List the cells whose centre lies inside a plot by the even-odd rule, with that plot.

    A segment crosses the row of centre yc when low <= yc < high in y. Both segments of a vertex
    derive that test from the same rounded row number, so every ring crosses each row an even
    number of times and the sorted crossings of one plot and row pair up into inside spans.
    """
    low_y = np.minimum(starts[:, 1], ends[:, 1])
    high_y = np.maximum(starts[:, 1], ends[:, 1])
    first_row = grid.first_centre_at_or_after(low_y, grid.y0, grid.ny)
    rows = np.maximum(grid.first_centre_at_or_after(high_y, grid.y0, grid.ny) - first_row, 0)
    segment, step = _expand(rows)
    row = first_row[segment] + step
    centre_y = grid.y0 + (row + 0.5) * grid.cell
    (ax, ay), (bx, by) = starts[segment].T, ends[segment].T
    crossing = np.clip(ax + (centre_y - ay) * (bx - ax) / (by - ay),
                       np.minimum(ax, bx), np.maximum(ax, bx))

    plot = owner[segment]
    order = np.lexsort((crossing, row, plot))
    plot, row, crossing = plot[order], row[order], crossing[order]
    if len(plot) % 2 or bool(((plot[0::2] != plot[1::2]) | (row[0::2] != row[1::2])).any()):
        raise RuntimeError("plot index build failed: a plot has an odd number of boundary "
                           "crossings on one scanline, which closed rings cannot produce")
    first_column = grid.first_centre_at_or_after(crossing[0::2], grid.x0, grid.nx)
    end_column = grid.first_centre_at_or_after(crossing[1::2], grid.x0, grid.nx)
    # A centre exactly on the closing crossing is a boundary cell, so it may stay out.
    span, step = _expand(np.maximum(end_column - first_column, 0))
    cells = row[0::2][span] * grid.nx + first_column[span] + step
    return cells, plot[0::2][span]


def load_plot_index(conn: psycopg.Connection, workspace_id: int, *,
                    cell_size_deg: float | None = None) -> PlotIndex:
    """Build the index of a workspace's current plot geometries, recording their version."""
    rows = conn.execute(_CURRENT_GEOMETRIES, (workspace_id,)).fetchall()
    geometry_ids = [int(row[0]) for row in rows]
    version = IndexVersion(len(geometry_ids), max(geometry_ids, default=0), sum(geometry_ids))
    geometries = shapely.from_wkb([bytes(row[2]) for row in rows]) if rows else []
    return PlotIndex([int(row[1]) for row in rows], geometries, cell_size_deg=cell_size_deg,
                     workspace_id=workspace_id, version=version)


def current_version(conn: psycopg.Connection, workspace_id: int) -> IndexVersion:
    """Read the fingerprint of the workspace's current plot geometries as stored now."""
    row = conn.execute(_CURRENT_VERSION, (workspace_id,)).fetchone()
    assert row is not None
    return IndexVersion(int(row[0]), int(row[1]), int(row[2]))


def refresh_plot_index(conn: psycopg.Connection, index: PlotIndex) -> PlotIndex:
    """Return `index` while its workspace's geometries are unchanged, else a rebuilt index."""
    if index.workspace_id is None or index.version is None:
        raise ValueError("only an index built by load_plot_index can be refreshed")
    if current_version(conn, index.workspace_id) == index.version:
        return index
    log.info("plot geometries of workspace %d changed; rebuilding the plot index",
             index.workspace_id)
    return load_plot_index(conn, index.workspace_id, cell_size_deg=index.requested_cell_size_deg)
