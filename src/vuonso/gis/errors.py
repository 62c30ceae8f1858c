"""Exceptions of the GIS package.

GisError
 ├── GeometryInvalid    a geometry failed validation (problems lists each feature and problem)
 ├── CrsError           a coordinate reference system is missing, unknown or mismatched
 └── ImportFailed       a vector file cannot be read or mapped to plots
"""

from __future__ import annotations

from vuonso.core.errors import InvalidInput


class GisError(InvalidInput):
    code = "gis_error"


class GeometryInvalid(GisError):
    code = "geometry_invalid"


class CrsError(GisError):
    code = "crs_invalid"


class ImportFailed(GisError):
    code = "import_failed"
