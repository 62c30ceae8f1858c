"""Read vector files (GeoJSON, KML, KMZ, zipped Shapefile, GeoPackage, GPX) into source features.

GDAL (through pyogrio) does the parsing. Geometry stays in the file's own CRS; choosing that CRS
and reprojecting is `gis.crs`'s work. A ring whose ends differ is kept (closed) and flagged,
so validation can name the feature instead of the whole file failing.

GPX has no polygons: each track and each route becomes one feature whose boundary is its points
in order, closed on the first point. A walked boundary rarely ends exactly where it started, so a
gap up to GPX_CLOSING_DISTANCE_M (geodesic) is accepted and a wider one is reported as
track_not_closed. A track with several segments becomes a MultiPolygon, one part per segment.
Waypoints are ignored.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyogrio import raw
from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError
from pyproj import CRS, Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from vuonso.gis.errors import ImportFailed

log = logging.getLogger(__name__)

FORMAT_BY_SUFFIX = {
    ".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".kmz": "kmz", ".zip": "shp",
    ".shp": "shp", ".gpkg": "gpkg", ".gpx": "gpx",
}
GPX_CLOSING_DISTANCE_M = 20.0
# Bound on the uncompressed size of a KMZ or zipped shapefile, against zip bombs.
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# Fields LIBKML adds to every placemark; dropped from plot attributes when empty.
_KML_STYLE_FIELDS = {"description", "timestamp", "begin", "end", "altitudeMode", "tessellate",
                     "extrude", "visibility", "drawOrder", "icon", "snippet"}
_GEOD = Geod(ellps="WGS84")


@dataclass
class SourceFeature:
    """One feature as read: 0-based index over all layers, attributes, geometry in the file CRS."""

    index: int
    layer: str
    fid: str | None
    attributes: dict[str, Any]
    geometry: BaseGeometry | None
    defect: str | None = None  # problem code found while decoding, e.g. "ring_not_closed"
    defect_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceFile:
    """The features of one file with its format and the CRS it declares (None when silent)."""

    name: str
    format: str
    declared_crs: CRS | None
    features: list[SourceFeature]


def detect_format(name: str) -> str:
    """Return the format key for a file name, or raise ImportFailed naming the accepted ones."""
    suffix = PurePosixPath(name.lower()).suffix
    if suffix not in FORMAT_BY_SUFFIX:
        accepted = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise ImportFailed(
            f"unsupported file type {suffix or '(none)'!r} for {name!r}; accepted: {accepted}",
            key="gis.import.unsupported_format", name=name, accepted=accepted,
        )
    return FORMAT_BY_SUFFIX[suffix]


def read_plot_file(path: Path, *, name: str | None = None, layer: str | None = None) -> SourceFile:
    """Read every feature of a plot file; `name` (default: the path's) decides the format."""
    display = name or path.name
    file_format = detect_format(display)
    try:
        with warnings.catch_warnings():
            # GDAL warns about unclosed rings; they are reported per feature instead.
            warnings.simplefilter("ignore", RuntimeWarning)
            return _read(path, display, file_format, layer)
    except (DataSourceError, DataLayerError, FieldError, GeometryError,
            zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImportFailed(
            f"cannot read {display!r} as {file_format}: {exc}",
            key="gis.import.unreadable", name=display, format=file_format, reason=str(exc),
        ) from exc


def _read(path: Path, display: str, file_format: str, layer: str | None) -> SourceFile:
    if file_format == "geojson":
        return _read_geojson(path, display)
    if file_format == "kml":
        return SourceFile(display, file_format, None, _read_layers(str(path), _layers(str(path))))
    if file_format == "kmz":
        inner = _vsizip(path, _archive_member(path, ".kml", prefer="doc.kml"))
        return SourceFile(display, file_format, None, _read_layers(inner, _layers(inner)))
    if file_format == "gpx":
        return SourceFile(display, file_format, None, _read_gpx(str(path)))
    if file_format == "shp":
        source = str(path) if path.suffix.lower() == ".shp" else _vsizip(
            path, _archive_member(path, ".shp"))
        return SourceFile(display, file_format, _declared_crs(source, None),
                          _read_layers(source, [None]))
    chosen = layer or _single_layer(str(path), display)
    return SourceFile(display, file_format, _declared_crs(str(path), chosen),
                      _read_layers(str(path), [chosen]))


def _read_layers(source: str, layers: list[str | None]) -> list[SourceFeature]:
    features: list[SourceFeature] = []
    for layer in layers:
        meta, _fids, geometries, columns = raw.read(source, layer=layer, return_fids=True)[:4]
        names = [str(n) for n in meta["fields"]]
        layer_name = layer or Path(source).stem
        for row, wkb in enumerate(geometries):
            attributes = {n: _plain(columns[i][row]) for i, n in enumerate(names)}
            attributes = {k: v for k, v in attributes.items()
                          if not (k in _KML_STYLE_FIELDS and v in (None, "", -1, 0))}
            geometry, defect, params = _decode(wkb)
            features.append(SourceFeature(
                index=len(features), layer=layer_name, fid=_feature_id(attributes),
                attributes=attributes, geometry=geometry, defect=defect, defect_params=params,
            ))
    return features


def _decode(wkb: bytes | None) -> tuple[BaseGeometry | None, str | None, dict[str, Any]]:
    """Decode WKB, with a problem code when GEOS rejects the geometry unchanged."""
    if wkb is None:
        return None, None, {}
    try:
        return shapely.from_wkb(wkb), None, {}
    except shapely.errors.GEOSException as exc:
        if "closed" in str(exc):
            return shapely.from_wkb(wkb, on_invalid="fix"), "ring_not_closed", {}
        return None, "invalid_geometry", {"reason": str(exc)}


def _read_gpx(source: str) -> list[SourceFeature]:
    """Turn each GPX track and route into one polygon feature (see the module docstring)."""
    features: list[SourceFeature] = []
    available = {str(name) for name, _kind in pyogrio.list_layers(source)}
    for layer in ("tracks", "routes"):
        if layer not in available:
            continue
        meta, _fids, geometries, columns = raw.read(source, layer=layer, return_fids=True)[:4]
        names = [str(n) for n in meta["fields"]]
        for row, wkb in enumerate(geometries):
            attributes = {n: _plain(columns[i][row]) for i, n in enumerate(names)}
            attributes = {k: v for k, v in attributes.items() if v is not None}
            line = shapely.from_wkb(wkb) if wkb is not None else None
            geometry, defect, params = _close_lines(line)
            features.append(SourceFeature(
                index=len(features), layer=layer, fid=_feature_id(attributes),
                attributes=attributes, geometry=geometry, defect=defect, defect_params=params,
            ))
    return features


def _close_lines(line: BaseGeometry | None,
                 ) -> tuple[BaseGeometry | None, str | None, dict[str, Any]]:
    """Polygon(s) from a GPX line, with a problem code when a part cannot be a boundary."""
    if line is None or line.is_empty:
        return None, None, {}
    polygons: list[Polygon] = []
    widest_gap = 0.0
    for part in getattr(line, "geoms", [line]):
        coords = [(x, y) for x, y, *_ in part.coords]
        if len(set(coords)) < 3:
            return None, "too_few_points", {"points": len(set(coords))}
        (lon1, lat1), (lon2, lat2) = coords[0], coords[-1]
        widest_gap = max(widest_gap, float(_GEOD.inv(lon1, lat1, lon2, lat2)[2]))
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        polygons.append(Polygon(coords))
    geometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if widest_gap > GPX_CLOSING_DISTANCE_M:
        return geometry, "track_not_closed", {"gap_m": round(widest_gap, 1),
                                              "limit_m": GPX_CLOSING_DISTANCE_M}
    return geometry, None, {}


def _read_geojson(path: Path, display: str) -> SourceFile:
    """GeoJSON through GDAL, plus what GDAL hides: whether a "crs" member exists (without one
    the file is WGS 84 by RFC 7946) and numeric feature ids, which GDAL turns into FIDs."""
    with path.open("rb") as handle:
        document = json.load(handle)
    features = _read_layers(str(path), [None])
    raw_features = document.get("features") if isinstance(document, dict) else None
    if isinstance(raw_features, list) and len(raw_features) == len(features):
        for feature, item in zip(features, raw_features, strict=True):
            if feature.fid is None and isinstance(item, dict) and item.get("id") is not None:
                feature.fid = str(item["id"])
    declared = None
    if isinstance(document, dict) and document.get("crs"):
        declared = _declared_crs(str(path), None)
    return SourceFile(display, "geojson", declared, features)


def _declared_crs(source: str, layer: str | None) -> CRS | None:
    text = pyogrio.read_info(source, layer=layer).get("crs")
    return CRS.from_user_input(text) if text else None


def _layers(source: str) -> list[str | None]:
    return [str(name) for name, _kind in pyogrio.list_layers(source)]


def _single_layer(source: str, display: str) -> str:
    """The only layer of a GeoPackage; with several, the caller must name one."""
    names = [str(name) for name, _kind in pyogrio.list_layers(source)]
    if len(names) != 1:
        raise ImportFailed(
            f"{display!r} has {len(names)} layers ({', '.join(names)}); choose one with --layer",
            key="gis.import.choose_layer", name=display, layers=", ".join(names),
        )
    return names[0]


def _archive_member(path: Path, suffix: str, prefer: str | None = None) -> str:
    """Name of the one member with `suffix` in a zip archive, after a size check."""
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.filename.startswith("__MACOSX/")]
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFailed(
            f"{path.name!r} unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}",
            key="gis.import.archive_too_large", name=path.name, size=unpacked,
            limit=MAX_UNPACKED_BYTES,
        )
    members = [i.filename for i in infos if i.filename.lower().endswith(suffix)]
    if prefer and prefer in members:
        return prefer
    if len(members) != 1:
        raise ImportFailed(
            f"{path.name!r} must contain exactly one {suffix} file, found {len(members)}"
            f" ({', '.join(members) or 'none'})",
            key="gis.import.archive_members", name=path.name, suffix=suffix,
            found=", ".join(members) or "-",
        )
    return members[0]


def _vsizip(path: Path, member: str) -> str:
    return f"/vsizip/{path.resolve()}/{member}"


def _feature_id(attributes: dict[str, Any]) -> str | None:
    for key, value in attributes.items():
        if key.lower() == "id" and value not in (None, ""):
            return str(value)
    return None


def _plain(value: Any) -> Any:
    """JSON-safe Python value for a numpy cell; NaN and NaT become None."""
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
