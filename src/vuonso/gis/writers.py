"""Write plots as GeoJSON, KML, GeoPackage or a zipped ESRI Shapefile, in EPSG:4326.

Each format carries the same attributes. Area is in hectares, stated by its field name
(area_ha) and in the layer description where the format has one. Shapefile field names are at
most 10 characters (a dBASE limit), so some columns get a shorter name there. The .prj names
WGS 84, and the .cpg declares UTF-8 so that Vietnamese names survive.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyogrio import raw
from shapely.geometry import MultiPolygon


@dataclass(frozen=True)
class ExportFormat:
    """File suffix, media type and GDAL driver of one export format."""

    suffix: str
    media_type: str
    driver: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "geojson": ExportFormat(".geojson", "application/geo+json", "GeoJSON"),
    "kml": ExportFormat(".kml", "application/vnd.google-earth.kml+xml", "KML"),
    "gpkg": ExportFormat(".gpkg", "application/geopackage+sqlite3", "GPKG"),
    "shp": ExportFormat(".zip", "application/zip", "ESRI Shapefile"),
}

# (column, shapefile name, kind); kinds: "text", "int", "real".
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("code", "code", "text"),
    ("farm", "farm", "text"),
    ("company", "company", "text"),
    ("crop", "crop", "text"),
    ("planting_year", "plant_year", "int"),
    ("clone", "clone", "text"),
    ("tree_count", "tree_count", "int"),
    ("tapping_system", "tapping", "text"),
    ("status", "status", "text"),
    ("team", "team", "text"),
    ("area_ha", "area_ha", "real"),
    ("geometry_valid_from", "valid_from", "text"),
)
AREA_NOTE = "area_ha: geodesic area on the WGS 84 ellipsoid, in hectares"


@dataclass(frozen=True)
class PlotFeature:
    """One plot to write: its attribute values by column name and its lon/lat boundary."""

    values: dict[str, Any]
    geometry: MultiPolygon


def write_plots(features: Sequence[PlotFeature], format_key: str, destination: Path,
                layer: str = "plots", description: str = "") -> Path:
    """Write the features to `destination` (a .zip for shapefiles) and return it."""
    chosen = EXPORT_FORMATS[format_key]
    note = f"{description}. {AREA_NOTE}" if description else AREA_NOTE
    if format_key == "shp":
        return _write_zipped_shapefile(features, destination, layer)
    options: dict[str, Any] = {}
    if format_key == "geojson":
        options = {"layer_options": {"RFC7946": "YES", "DESCRIPTION": note}}
    elif format_key == "gpkg":
        options = {"layer_options": {"DESCRIPTION": note}}
    elif format_key == "kml":
        # The placemark name is what Google Earth shows; the code is the natural label.
        options = {"dataset_options": {"NameField": "code"}}
    _write(features, destination, chosen.driver, layer, [c for c, _s, _k in COLUMNS], **options)
    return destination


def _write_zipped_shapefile(features: Sequence[PlotFeature], destination: Path,
                            layer: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="vuonso-shp-") as folder:
        shp = Path(folder) / f"{layer}.shp"
        names = [short for _c, short, _k in COLUMNS]
        _write(features, shp, "ESRI Shapefile", layer, names, layer_options={"ENCODING": "UTF-8"})
        with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                part = shp.with_suffix(suffix)
                if not part.exists():
                    raise RuntimeError(f"GDAL did not write {part.name}")
                archive.write(part, arcname=part.name)
    return destination


def _write(features: Sequence[PlotFeature], path: Path, driver: str, layer: str,
           names: list[str], **options: Any) -> None:
    geometries = np.array([shapely.to_wkb(f.geometry) for f in features], dtype=object)
    data: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for column, _short, kind in COLUMNS:
        cells = [f.values.get(column) for f in features]
        missing = np.array([cell is None for cell in cells], dtype=bool)
        if kind == "int":
            data.append(np.array([0 if c is None else int(c) for c in cells], dtype=np.int64))
        elif kind == "real":
            data.append(np.array([np.nan if c is None else float(c) for c in cells]))
        else:
            data.append(np.array([None if c is None else str(c) for c in cells], dtype=object))
        masks.append(missing if missing.any() and kind == "int" else None)
    field_mask = masks if any(mask is not None for mask in masks) else None
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    raw.write(str(path), geometries, data, names, field_mask=field_mask, layer=layer,
              driver=driver, geometry_type="MultiPolygon", crs="EPSG:4326", **options)
