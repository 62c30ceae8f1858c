"""POST /api/gis/imports: upload a plot file into a farm.

The multipart body is parsed while it streams in, and reading stops with 413 as soon as the body
passes settings.upload_max_bytes, so an oversized upload is never read to its end or buffered.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from vuonso.api.deps import LanguageDep, PoolDep, SettingsDep
from vuonso.api.errors import error_body
from vuonso.core.i18n import translate
from vuonso.gis.errors import ImportFailed
from vuonso.gis.imports import ImportOptions, import_file
from vuonso.gis.io.fields import PLOT_FIELDS, parse_overrides

router = APIRouter(prefix="/api/gis", tags=["plot files"])

# Uploads up to this size stay in memory while parsed; larger ones spill to a temporary file.
_MEMORY_PART_BYTES = 1024 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

_DESCRIPTION = f"""Import the plots of a vector file into a farm: GeoJSON, KML, KMZ, a zipped
ESRI Shapefile, GeoPackage or GPX (closed tracks and routes become plot boundaries).

The whole request body may be at most **UPLOAD_MAX_BYTES** bytes (setting `upload_max_bytes`,
52,428,800 bytes = 50 MiB unless configured otherwise). A larger body is answered with 413 as
soon as the limit is passed, without reading the rest.

Every feature is checked and all problems are reported together (422, `error.problems`);
nothing is written unless the whole file is valid. With `dry_run` the report comes back with
200 and nothing is written. Areas are geodesic, in hectares (`area_unit`). Plot fields:
{", ".join(PLOT_FIELDS)}."""

_REQUEST_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "required": ["file", "farm"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": ".geojson, .json, .kml, .kmz, .zip (shapefile), .gpkg, .gpx"},
            "farm": {"type": "string", "description": "Code of the receiving farm"},
            "crs": {"type": "string", "description": "e.g. EPSG:3405 or VN2000-TM3-GIALAI"},
            "dry_run": {"type": "boolean", "default": False},
            "repair": {"type": "boolean", "default": False,
                       "description": "make_valid invalid boundaries; area changes reported"},
            "map": {"type": "array", "items": {"type": "string"},
                    "description": "FIELD=ATTRIBUTE overrides, e.g. code=MA_LO"},
            "crop": {"type": "string", "enum": ["rubber", "coffee"],
                     "description": "Crop of new plots whose file gives none"},
            "layer": {"type": "string", "description": "GeoPackage layer"},
        },
    }}},
}


class _BodyTooLarge(Exception):
    pass


@dataclass
class _Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[File] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


@router.post("/imports", summary="Import plot boundaries from a vector file",
             description=_DESCRIPTION, openapi_extra={"requestBody": _REQUEST_BODY},
             responses={200: {"description": "Dry-run report"},
                        201: {"description": "Import report; plots written"},
                        413: {"description": "Request body larger than upload_max_bytes"},
                        422: {"description": "Invalid file, CRS or features; nothing written"}})
async def post_import(request: Request, settings: SettingsDep, pool: PoolDep,
                      language: LanguageDep) -> JSONResponse:
    limit = settings.upload_max_bytes
    with tempfile.TemporaryDirectory(prefix="vuonso-upload-") as folder:
        try:
            form = await _receive_form(request, limit, Path(folder))
        except _BodyTooLarge:
            message = translate("gis.import.upload_too_large", language, limit=limit)
            body = error_body("upload_too_large", message,
                              f"the request body is larger than {limit} bytes")
            return JSONResponse(body, status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                                headers={"Connection": "close"})
        path, name = _saved_upload(form, Path(folder))
        farm = form.value("farm")
        if not farm:
            raise ImportFailed("the form field 'farm' is missing", key="gis.import.field_missing",
                               field="farm")
        options = ImportOptions(
            crs=form.value("crs") or None, dry_run=_flag(form, "dry_run"),
            repair=_flag(form, "repair"), mapping=parse_overrides(_mapping_pairs(form)),
            default_crop=_crop(form), layer=form.value("layer") or None, language=language,
        )

        def run() -> dict[str, Any]:
            with pool.connection() as conn:
                return import_file(conn, path, farm, options, file_name=name).as_dict()

        report = await run_in_threadpool(run)
    code = status.HTTP_201_CREATED if report["committed"] else status.HTTP_200_OK
    return JSONResponse(report, status_code=code)


async def _receive_form(request: Request, limit: int, folder: Path) -> _Form:
    """Parse the multipart body chunk by chunk, raising _BodyTooLarge once it passes `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    form = _Form()

    def on_field(item: Field) -> None:
        name = (item.field_name or b"").decode("utf-8", "replace")
        form.fields.setdefault(name, []).append((item.value or b"").decode("utf-8", "replace"))

    config = {"UPLOAD_DIR": str(folder), "MAX_MEMORY_FILE_SIZE": _MEMORY_PART_BYTES}
    media_type, parameters = parse_options_header(request.headers.get("content-type", ""))
    try:
        if media_type != b"multipart/form-data" or b"boundary" not in parameters:
            raise ValueError(f"content type {media_type.decode('latin-1')!r} without a boundary")
        parser = FormParser("multipart/form-data", on_field, form.files.append,
                            boundary=parameters[b"boundary"], config=config)
    except (FormParserError, ValueError) as exc:
        raise ImportFailed(f"the request is not multipart/form-data: {exc}",
                           key="gis.import.not_multipart") from exc
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _BodyTooLarge
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise ImportFailed(f"malformed multipart body: {exc}",
                               key="gis.import.not_multipart") from exc
    parser.finalize()
    return form


def _saved_upload(form: _Form, folder: Path) -> tuple[Path, str]:
    """Copy the 'file' part under a safe name that keeps its suffix; return (path, name)."""
    part = next((f for f in form.files if f.field_name == b"file"), None)
    if part is None or not part.file_name:
        raise ImportFailed("the form field 'file' is missing", key="gis.import.field_missing",
                           field="file")
    name = Path(part.file_name.decode("utf-8", "replace").replace("\\", "/")).name
    suffix = re.sub(r"[^a-z0-9.]", "", Path(name).suffix.lower())
    target = folder / f"upload{suffix}"
    source = part.file_object
    source.seek(0)
    with target.open("wb") as handle:
        for block in iter(lambda: source.read(1 << 20), b""):
            handle.write(block)
    part.close()
    return target, name


def _flag(form: _Form, name: str) -> bool:
    text = (form.value(name) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ImportFailed(f"form field {name!r} must be true or false, got {text!r}",
                       key="gis.import.bad_flag", field=name, value=text)


def _mapping_pairs(form: _Form) -> list[str]:
    """'map' values, each one FIELD=ATTR or several separated by commas."""
    return [pair.strip() for value in form.fields.get("map", []) for pair in value.split(",")
            if pair.strip()]


def _crop(form: _Form) -> str | None:
    crop = (form.value("crop") or "").strip() or None
    if crop not in (None, "rubber", "coffee"):
        raise ImportFailed(f"form field 'crop' must be rubber or coffee, got {crop!r}",
                           key="gis.import.bad_crop", value=crop)
    return crop
