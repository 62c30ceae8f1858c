"""Coordinate reference systems of plot files: names, choice, mismatch checks, reprojection.

Everything stored is EPSG:4326 longitude/latitude (always_xy). VN-2000 data is shifted to WGS 84
with the national seven-parameter transformation, applied explicitly so the result never depends
on which operation PROJ would pick from its database.

VN-2000 facts used here:
- The ellipsoid is WGS 84. Projected grids are Transverse Mercator: UTM (k 0.9996, EPSG:3405
  zone 48N and EPSG:3406 zone 49N) and, for cadastral maps, 3-degree zones with k 0.9999 and
  false easting 500 km. Each province has its own central meridian (Circular 973/2001/TT-TCĐC of
  the General Department of Land Administration, 20 June 2001).
- The meridians below match the circular's published table. They also match the EPSG
  "VN-2000 / TM-3" CRSs shipped with PROJ 9.5: EPSG:9212 106°15' Bình Phước, 9216 107°30' Kon Tum,
  5899 107°45' Lâm Đồng, 9217 108°15' Bình Định, and 9218 108°30' Gia Lai, Đắk Lắk, Đắk Nông and
  Phú Yên.
- VN-2000 to WGS 84: Decision 05/2007/QĐ-BTNMT (Ministry of Natural Resources and Environment,
  27 Feb 2007): dX -191.90441429 m, dY -39.30318279 m, dZ -111.45032835 m, rotations
  -0.00928836", 0.01975479", -0.00427372", scale +0.252906278 ppm. EPSG records it as
  transformation 6960 "VN-2000 to WGS 84 (2)" with the coordinate-frame rotation convention.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError
from shapely.geometry.base import BaseGeometry

from vuonso.gis.errors import CrsError

WGS84 = CRS.from_epsg(4326)
VN2000_EPSG = 4756

# Decision 05/2007/QĐ-BTNMT in the coordinate-frame convention (EPSG:6960).
# NOTE: the decision's text does not name a rotation convention; EPSG's is used. Applying the same
# numbers as position-vector rotations moves points by under about 1 m in Vietnam.
VN2000_SHIFT_COORDINATE_FRAME = (
    -191.90441429, -39.30318279, -111.45032835, -0.00928836, 0.01975479, -0.00427372, 0.252906278,
)
# PROJ's +towgs84 uses the position-vector convention: the same shift with rotations negated.
VN2000_TOWGS84 = (
    -191.90441429, -39.30318279, -111.45032835, 0.00928836, -0.01975479, 0.00427372, 0.252906278,
)
_TOWGS84_TEXT = ",".join(repr(value) for value in VN2000_TOWGS84)

# Pre-2025 province (the cadastral grid follows the old map sheets) -> (central meridian in
# degrees, display name, EPSG code of the same grid without the explicit shift).
PROVINCIAL_MERIDIANS: dict[str, tuple[float, str, int]] = {
    "KONTUM": (107.5, "Kon Tum", 9216),
    "GIALAI": (108.5, "Gia Lai", 9218),
    "DAKLAK": (108.5, "Đắk Lắk", 9218),
    "DAKNONG": (108.5, "Đắk Nông", 9218),
    "BINHPHUOC": (106.25, "Bình Phước", 9212),
    "LAMDONG": (107.75, "Lâm Đồng", 5899),
    "BINHDINH": (108.25, "Bình Định", 9217),
    "PHUYEN": (108.5, "Phú Yên", 9218),
}
_ALIASES = {"VN2000": 4756, "VN2000UTM48N": 3405, "VN2000UTM49N": 3406, "WGS84": 4326,
            "CRS84": 4326}

# A boundary vertex must stay inside the source CRS's area of use widened by this margin.
AREA_OF_USE_MARGIN_DEG = 1.0


@dataclass(frozen=True)
class SourceCrs:
    """The CRS a file's coordinates are read in, where that choice came from, and where it applies.

    `bounds` is the lon/lat box (west, south, east, north) where the CRS is meant to be used,
    widened by AREA_OF_USE_MARGIN_DEG, or None for a world-wide CRS.
    """

    crs: CRS
    label: str
    origin: str  # "file", "option" or "default"
    bounds: tuple[float, float, float, float] | None


def named_crs_names() -> list[str]:
    """Names accepted besides EPSG codes, for help texts and error messages."""
    provincial = sorted(f"VN2000-TM3-{key}" for key in PROVINCIAL_MERIDIANS)
    return [*provincial, "VN2000", "VN2000-UTM48N", "VN2000-UTM49N"]


def provincial_tm3(key: str) -> CRS:
    """VN-2000 3-degree TM grid of a province, bound to WGS 84 by the national shift."""
    meridian = PROVINCIAL_MERIDIANS[key][0]
    return CRS.from_proj4(
        f"+proj=tmerc +lat_0=0 +lon_0={meridian} +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84"
        f" +towgs84={_TOWGS84_TEXT} +units=m +no_defs +type=crs"
    )


def parse_crs(text: str) -> SourceCrs:
    """Resolve a name such as EPSG:3405 or VN2000-TM3-GIALAI (case and accents ignored)."""
    key = _normalise(text)
    if key.startswith("VN2000TM3") and key[len("VN2000TM3"):] in PROVINCIAL_MERIDIANS:
        province = key[len("VN2000TM3"):]
        meridian, name, epsg = PROVINCIAL_MERIDIANS[province]
        label = f"VN2000-TM3-{province} ({name}, {_dms(meridian)})"
        return SourceCrs(provincial_tm3(province), label, "option",
                         usable_bounds(CRS.from_epsg(epsg)))
    if key in _ALIASES:
        return from_crs(CRS.from_epsg(_ALIASES[key]), "option")
    try:
        crs = CRS.from_user_input(text.strip())
    except ProjCRSError as exc:
        raise CrsError(
            f"unknown CRS {text!r}; use EPSG:N or one of {', '.join(named_crs_names())}",
            key="gis.crs.unknown", value=text, names=", ".join(named_crs_names()),
            problems=[{"problem": "crs_unknown", "value": text}],
        ) from exc
    return from_crs(crs, "option")


def from_crs(crs: CRS, origin: str) -> SourceCrs:
    """Wrap a pyproj CRS with its label and area of use."""
    return SourceCrs(crs, crs_label(crs), origin, usable_bounds(crs))


def crs_label(crs: CRS) -> str:
    """EPSG:N (name) when the CRS has an EPSG code, else its name."""
    code = crs.to_epsg(min_confidence=90)
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def choose_source_crs(file_format: str, declared: CRS | None, given: str | None) -> SourceCrs:
    """Pick the CRS of a file's coordinates, rejecting a --crs that contradicts the file.

    KML and GPX are always WGS 84, and so is GeoJSON without a "crs" member (RFC 7946). A
    shapefile or GeoPackage layer without a CRS needs `given`.
    """
    chosen = parse_crs(given) if given else None
    if file_format in ("kml", "kmz", "gpx"):
        declared = WGS84
    if declared is not None and chosen is not None:
        if not same_crs(declared, chosen.crs):
            declared_label = crs_label(declared)
            message = (f"the file declares {declared_label} but --crs {chosen.label} was given; "
                       "remove --crs or fix the file's CRS")
            raise CrsError(
                message, key="gis.crs.mismatch", declared=declared_label, given=chosen.label,
                problems=[{"problem": "crs_mismatch", "message": message,
                           "declared": declared_label, "given": chosen.label}],
            )
        return chosen
    if chosen is not None:
        return chosen
    if declared is not None:
        return from_crs(declared, "file")
    if file_format == "geojson":
        return from_crs(WGS84, "default")
    raise CrsError(
        f"the {file_format} file declares no CRS (a shapefile needs its .prj); "
        "give the CRS with --crs, e.g. --crs VN2000-TM3-GIALAI or --crs EPSG:3405",
        key="gis.crs.missing", format=file_format,
        problems=[{"problem": "crs_missing", "format": file_format}],
    )


def same_crs(first: CRS, second: CRS) -> bool:
    """Test whether two CRS definitions place coordinates identically (names may differ)."""
    if first.equals(second, ignore_axis_order=True):
        return True
    if first.is_geographic != second.is_geographic:
        return False
    x, y = _sample_point(first)
    try:
        moved = Transformer.from_crs(_bound(first), _bound(second), always_xy=True)
        x2, y2 = moved.transform(x, y, errcheck=True)
    except (ProjError, ProjCRSError):
        return False
    tolerance = 1e-8 if first.is_geographic else 0.001
    return math.hypot(x2 - x, y2 - y) <= tolerance


def wgs84_transformer(source: CRS) -> Transformer:
    """Transformer from `source` to EPSG:4326 longitude/latitude."""
    return Transformer.from_crs(_bound(source), WGS84, always_xy=True)


def reproject(geometry: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    """Return a 2-D copy of `geometry` with every vertex transformed; failures become inf."""

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(shapely.force_2d(geometry), move)


def swap_axes(geometry: BaseGeometry) -> BaseGeometry:
    """Return `geometry` with x and y exchanged, for the lat/lon-given-as-lon/lat check."""
    return shapely.transform(shapely.force_2d(geometry), lambda xy: xy[:, ::-1].copy())


def in_lon_lat_range(geometry: BaseGeometry) -> bool:
    """Test that every vertex is finite with -180 <= lon <= 180 and -90 <= lat <= 90."""
    coords = shapely.get_coordinates(geometry)
    if coords.size == 0:
        return True
    finite = np.isfinite(coords).all()
    return bool(finite and (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all())


def usable_bounds(source: CRS) -> tuple[float, float, float, float] | None:
    """Lon/lat bounds where `source` is meant to be used, widened by the margin, or None."""
    area = source.area_of_use
    if area is None or (area.east - area.west >= 359 and area.north - area.south >= 179):
        return None
    margin = AREA_OF_USE_MARGIN_DEG
    return (area.west - margin, area.south - margin, area.east + margin, area.north + margin)


def within_bounds(geometry: BaseGeometry, bounds: tuple[float, float, float, float]) -> bool:
    """Test whether the bounding box of a lon/lat geometry lies inside `bounds`."""
    west, south, east, north = shapely.bounds(geometry)
    return bool(west >= bounds[0] and south >= bounds[1] and east <= bounds[2]
                and north <= bounds[3])


def _bound(crs: CRS) -> CRS:
    """Attach the national VN-2000 shift to a VN-2000 CRS; other CRSs pass unchanged."""
    if crs.is_bound or not _is_vn2000(crs):
        return crs
    with warnings.catch_warnings():
        # to_proj4 warns that it drops names; the VN-2000 grids are fully described by it.
        warnings.simplefilter("ignore", UserWarning)
        definition = crs.to_proj4()
    kept = [part for part in definition.split() if part not in ("+no_defs", "+type=crs")]
    return CRS.from_proj4(" ".join(kept) + f" +towgs84={_TOWGS84_TEXT} +no_defs +type=crs")


def _is_vn2000(crs: CRS) -> bool:
    geodetic = crs.geodetic_crs
    if geodetic is None:
        return False
    if geodetic.to_epsg(min_confidence=90) == VN2000_EPSG:
        return True
    return geodetic.datum is not None and "2000" in geodetic.datum.name and (
        "Vietnam" in geodetic.datum.name or "VN" in geodetic.datum.name)


def _sample_point(crs: CRS) -> tuple[float, float]:
    """Return a point inside the area of use of `crs`, in its own (always_xy) coordinates."""
    area = crs.area_of_use
    lon, lat = (106.0, 14.0) if area is None else (
        (area.west + area.east) / 2, (area.south + area.north) / 2)
    to_crs = Transformer.from_crs(WGS84, _bound(crs), always_xy=True)
    x, y = to_crs.transform(lon, lat)
    return float(x), float(y)


def _normalise(text: str) -> str:
    """Upper-case ASCII letters and digits only: 'VN2000-TM3-Đắk Lắk' -> 'VN2000TM3DAKLAK'."""
    folded = text.replace("Đ", "D").replace("đ", "d")
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.upper() if ch.isalnum())


def _dms(degrees: float) -> str:
    whole = int(degrees)
    minutes = round((degrees - whole) * 60)
    return f"{whole}°{minutes:02d}'"
