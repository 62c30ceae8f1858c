"""GET /api/gis/exports: download the plots of a farm or company as a vector file."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from vuonso.api.deps import ConnDep
from vuonso.gis.exports import export_file_name, export_plots

router = APIRouter(prefix="/api/gis", tags=["plot files"])


@router.get("/exports", summary="Download current plot boundaries as GeoJSON, KML, GPKG or SHP",
            description="Boundaries in EPSG:4326 with their attributes; `area_ha` is the "
            "geodesic area in hectares. `shp` is a .zip with .shp, .shx, .dbf, .prj and a .cpg "
            "declaring UTF-8. Give exactly one of `farm` and `company`.",
            response_class=FileResponse,
            responses={404: {"description": "No plots for that farm or company"}})
def get_export(
    conn: ConnDep,
    format_key: Annotated[Literal["geojson", "kml", "gpkg", "shp"],
                          Query(alias="format", description="File format")],
    farm: Annotated[str | None, Query(description="Farm code")] = None,
    company: Annotated[str | None, Query(description="Company code")] = None,
    workspace: Annotated[str, Query(description="Workspace code")] = "production",
) -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="vuonso-export-"))
    try:
        name = export_file_name(format_key, farm_code=farm, company_code=company)
        exported = export_plots(conn, format_key, folder / name, farm_code=farm,
                                company_code=company, workspace=workspace)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(exported.path, media_type=exported.media_type,
                        filename=exported.file_name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
