"""Per-feature geometry checks, optional repair and overlap tests for plot imports.

Every check adds a Problem instead of stopping, so one run reports everything wrong with a file.
Geometry is checked after reprojection to EPSG:4326, so locations are longitude/latitude.

Overlap policy: two plots may share a digitising sliver. An overlap is a problem when its geodesic
area exceeds OVERLAP_TOLERANCE_M2 (100 m², e.g. a 50 m × 2 m strip) and also exceeds
OVERLAP_TOLERANCE_SHARE (1%) of the smaller plot; the larger of the two figures is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from vuonso.core.i18n import translate
from vuonso.gis import crs as crs_tools
from vuonso.gis.area import area_m2
from vuonso.gis.crs import SourceCrs
from vuonso.gis.io.readers import SourceFeature

OVERLAP_TOLERANCE_M2 = 100.0
OVERLAP_TOLERANCE_SHARE = 0.01
MAX_LOCATIONS = 20
# Decoding problems that --repair may fix; the others stay problems.
_REPAIRABLE = {"ring_not_closed", "self_intersection", "hole_outside_shell", "invalid_geometry"}


@dataclass(frozen=True)
class Problem:
    """One problem of one feature (feature None: the whole file)."""

    feature: int | None
    feature_id: str | None
    plot_code: str | None
    problem: str
    params: dict[str, Any] = field(default_factory=dict)
    location: tuple[float, float] | None = None

    def as_dict(self, language: str = "vi") -> dict[str, Any]:
        """Return the report form: {feature, id, code, problem, message, location, details}."""
        label = feature_label(self.feature, self.plot_code, self.feature_id)
        return {
            "feature": self.feature,
            "id": self.feature_id,
            "code": self.plot_code,
            "problem": self.problem,
            "message": translate(f"gis.problem.{self.problem}", language, label=label,
                                 **self.params),
            "location": None if self.location is None else [round(self.location[0], 7),
                                                            round(self.location[1], 7)],
            "details": self.params,
        }


@dataclass
class CheckedGeometry:
    """Outcome of checking one feature: its WGS 84 geometry (None if unusable) and problems."""

    geometry: MultiPolygon | None
    problems: list[tuple[str, dict[str, Any], tuple[float, float] | None]]

    @property
    def repairable(self) -> bool:
        return bool(self.problems) and self.geometry is not None and all(
            code in _REPAIRABLE for code, _params, _where in self.problems)


@dataclass(frozen=True)
class Repair:
    """Area change that make_valid caused in one feature, in hectares."""

    fixed: list[str]
    area_before_ha: float
    area_after_ha: float

    @property
    def area_change_ha(self) -> float:
        return self.area_after_ha - self.area_before_ha


def feature_label(index: int | None, code: str | None, feature_id: str | None) -> str:
    """Name a feature for messages as #index (plot code or feature id), e.g. #3 (L12)."""
    if index is None:
        return "-"
    name = code or feature_id
    return f"#{index} ({name})" if name else f"#{index}"


def check_feature(feature: SourceFeature, source: SourceCrs,
                  transformer: Transformer) -> CheckedGeometry:
    """Decode, type, ring, coordinate and validity checks; geometry returned in EPSG:4326."""
    problems: list[tuple[str, dict[str, Any], tuple[float, float] | None]] = []
    if feature.defect:
        problems.append((feature.defect, dict(feature.defect_params), None))
    geometry = feature.geometry
    if geometry is None or geometry.is_empty:
        if not problems:
            problems.append(("empty_geometry", {}, None))
        return CheckedGeometry(None, problems)

    polygonal = _polygonal(geometry)
    if polygonal is None:
        problems.append(("not_polygon", {"geometry_type": geometry.geom_type}, None))
        return CheckedGeometry(None, problems)
    short = _short_rings(polygonal)
    if short:
        problems.append(("too_few_points", {"points": short}, None))
        return CheckedGeometry(None, problems)

    moved, coordinate_problem = _to_wgs84(polygonal, source, transformer)
    if coordinate_problem is not None:
        problems.append(coordinate_problem)
        return CheckedGeometry(None, problems)

    problems.extend(validity_problems(moved))
    return CheckedGeometry(moved, problems)


def validity_problems(geometry: BaseGeometry,
                      ) -> list[tuple[str, dict[str, Any], tuple[float, float] | None]]:
    """GEOS validity as problem codes; every self-intersection is located, not only the first."""
    reason = shapely.is_valid_reason(geometry)
    if reason == "Valid Geometry":
        return []
    text, where = _split_reason(reason)
    if "Self-intersection" in text:
        points = self_intersections(geometry) or ([where] if where else [])
        return [("self_intersection", {"count": len(points)}, point)
                for point in points[:MAX_LOCATIONS]]
    if text.startswith("Hole lies outside shell"):
        return [("hole_outside_shell", {}, where)]
    if text.startswith("Too few points"):
        return [("too_few_points", {"points": 0}, where)]
    return [("invalid_geometry", {"reason": text}, where)]


def self_intersections(geometry: BaseGeometry) -> list[tuple[float, float]]:
    """Points where any two non-adjacent boundary segments of the geometry meet."""
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    ring_ids: list[np.ndarray] = []
    for ring_number, ring in enumerate(_rings(geometry)):
        coords = shapely.get_coordinates(ring)
        if len(coords) < 2:
            continue
        starts.append(coords[:-1])
        ends.append(coords[1:])
        ring_ids.append(np.full(len(coords) - 1, ring_number))
    if not starts:
        return []
    segments = shapely.linestrings(np.stack([np.vstack(starts), np.vstack(ends)], axis=1))
    ring_of = np.concatenate(ring_ids)
    position = np.concatenate([np.arange(len(ids)) for ids in ring_ids])
    ring_size = np.concatenate([np.full(len(ids), len(ids)) for ids in ring_ids])

    left, right = shapely.STRtree(segments).query(segments, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    same_ring = ring_of[left] == ring_of[right]
    gap = position[right] - position[left]
    adjacent = same_ring & ((gap == 1) | (gap == ring_size[left] - 1))
    left, right = left[~adjacent], right[~adjacent]

    found: dict[tuple[float, float], None] = {}
    for meeting in shapely.intersection(segments[left], segments[right]):
        for x, y in shapely.get_coordinates(meeting)[:1]:
            found.setdefault((round(float(x), 9), round(float(y), 9)), None)
    return list(found)


def repair_geometry(geometry: MultiPolygon) -> MultiPolygon | None:
    """make_valid, keeping only the polygonal parts; None when nothing polygonal is left."""
    fixed = shapely.make_valid(geometry)
    parts = [part for part in _flatten(fixed) if isinstance(part, Polygon) and not part.is_empty]
    if not parts:
        return None
    result = MultiPolygon(parts)
    return result if result.is_valid else None


def overlap_limit_m2(first_m2: float, second_m2: float) -> float:
    """Largest tolerated overlap between two plots of these areas."""
    return max(OVERLAP_TOLERANCE_M2, OVERLAP_TOLERANCE_SHARE * min(first_m2, second_m2))


@dataclass(frozen=True)
class Overlap:
    """An overlap beyond tolerance between item `first` and item `second` of the checked lists."""

    first: int
    second: int
    area_m2: float
    location: tuple[float, float]


def overlaps_between(first: Sequence[BaseGeometry], second: Sequence[BaseGeometry] | None = None,
                     ) -> list[Overlap]:
    """Overlaps beyond tolerance inside `first` (second None) or between `first` and `second`."""
    others = first if second is None else second
    if not first or not others:
        return []
    tree = shapely.STRtree(list(others))
    left, right = tree.query(list(first), predicate="intersects")
    found: list[Overlap] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if second is None and i >= j:
            continue
        shared = shapely.intersection(first[i], others[j])
        overlap = area_m2(_only_polygons(shared))
        if overlap <= overlap_limit_m2(area_m2(first[i]), area_m2(others[j])):
            continue
        point = shared.representative_point()
        found.append(Overlap(i, j, overlap, (point.x, point.y)))
    return found


def _to_wgs84(geometry: MultiPolygon, source: SourceCrs, transformer: Transformer,
              ) -> tuple[MultiPolygon, tuple[str, dict[str, Any], None] | None]:
    """Reproject, rejecting coordinates out of range or outside the CRS's area of use.

    When the coordinates fail but the same feature with x and y exchanged passes, the file most
    likely gives latitude before longitude, so the problem is coordinates_swapped.
    """
    moved = crs_tools.reproject(geometry, transformer)
    if _plausible(moved, source):
        return moved, None
    swapped = crs_tools.reproject(crs_tools.swap_axes(geometry), transformer)
    west, south, east, north = (round(float(v), 6) for v in shapely.bounds(moved))
    params = {"crs": source.label, "bounds": f"{west}, {south}, {east}, {north}"}
    if _plausible(swapped, source):
        return moved, ("coordinates_swapped", params, None)
    if not crs_tools.in_lon_lat_range(moved):
        return moved, ("coordinates_out_of_range", params, None)
    return moved, ("outside_crs_area", params, None)


def _plausible(geometry: BaseGeometry, source: SourceCrs) -> bool:
    if not crs_tools.in_lon_lat_range(geometry):
        return False
    return source.bounds is None or crs_tools.within_bounds(geometry, source.bounds)


def _polygonal(geometry: BaseGeometry) -> MultiPolygon | None:
    """Convert to a 2-D MultiPolygon, or return None when any part is not a polygon."""
    parts = [part for part in _flatten(shapely.force_2d(geometry)) if not part.is_empty]
    if not parts or not all(isinstance(part, Polygon) for part in parts):
        return None
    return MultiPolygon(parts)


def _short_rings(geometry: MultiPolygon) -> int:
    """Distinct vertex count of the poorest ring when below three, else 0."""
    poorest = min(len({tuple(c) for c in shapely.get_coordinates(ring)})
                  for ring in _rings(geometry))
    return poorest if poorest < 3 else 0


def _rings(geometry: BaseGeometry) -> Iterable[BaseGeometry]:
    for polygon in _flatten(geometry):
        if isinstance(polygon, Polygon) and not polygon.is_empty:
            yield polygon.exterior
            yield from polygon.interiors


def _flatten(geometry: BaseGeometry) -> list[BaseGeometry]:
    if isinstance(geometry, MultiPolygon | GeometryCollection):
        return [leaf for part in geometry.geoms for leaf in _flatten(part)]
    return [geometry]


def _only_polygons(geometry: BaseGeometry) -> MultiPolygon:
    return MultiPolygon([p for p in _flatten(geometry) if isinstance(p, Polygon) and not p.is_empty])


def _split_reason(reason: str) -> tuple[str, tuple[float, float] | None]:
    """'Self-intersection[108.1 14.2]' -> ('Self-intersection', (108.1, 14.2))."""
    if "[" not in reason or not reason.endswith("]"):
        return reason, None
    text, _, inside = reason[:-1].partition("[")
    values = inside.split()
    try:
        return text, (float(values[0]), float(values[1]))
    except (IndexError, ValueError):
        return text, None
