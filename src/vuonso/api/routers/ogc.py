"""OGC API - Features at /ogc: translates HTTP requests to the framework-free service in
vuonso.gis.ogc and its replies back to JSON or HTML responses.

Query parameters are read raw, not declared to FastAPI, because the service itself rejects
unknown or invalid ones with 400 as the standard requires (FastAPI would return 422).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vuonso import __version__
from vuonso.api.deps import ConnDep, SettingsDep
from vuonso.core.i18n import pick_language
from vuonso.gis.ogc.farm_source import FarmSource
from vuonso.gis.ogc.model import FeatureSource
from vuonso.gis.ogc.plot_source import PlotSource
from vuonso.gis.ogc.service import OgcService, Reply, RequestInfo
from vuonso.gis.ogc.track_source import TrackSource
from vuonso.ingest.features import DeviceSource

router = APIRouter(prefix="/ogc", include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


@cache
def service() -> OgcService:
    """Return the service over every published collection, in the order they are listed."""
    sources: list[FeatureSource] = [PlotSource(), FarmSource(), DeviceSource(), TrackSource()]
    return OgcService(sources, version=__version__)


def _request_info(request: Request, settings_language: str) -> RequestInfo:
    return RequestInfo(
        path=request.url.path,
        pairs=request.query_params.multi_items(),
        base=str(request.base_url).rstrip("/"),
        accept=request.headers.get("accept"),
        language=pick_language(request.headers.get("accept-language"), settings_language),
    )


def _respond(reply: Reply) -> Response:
    headers = {"Vary": "Accept, Accept-Language", "Content-Language": reply.language}
    if reply.format == "json":
        return JSONResponse(reply.body, media_type=reply.media_type, headers=headers)
    page = _environment().get_template(reply.template).render(version=__version__, **reply.view)
    return HTMLResponse(page, headers=headers)


@router.get("")
def landing_page(request: Request, settings: SettingsDep) -> Response:
    """Landing page: links to the API definition, conformance and collections."""
    return _respond(service().landing(_request_info(request, settings.language)))


@router.get("/conformance")
def conformance(request: Request, settings: SettingsDep) -> Response:
    return _respond(service().conformance(_request_info(request, settings.language)))


@router.get("/api")
def api_definition(request: Request, settings: SettingsDep) -> Response:
    """OpenAPI 3.0 definition (JSON) or its HTML summary (f=html)."""
    return _respond(service().api(_request_info(request, settings.language)))


@router.get("/collections")
def collections(request: Request, conn: ConnDep, settings: SettingsDep) -> Response:
    return _respond(service().collections(conn, _request_info(request, settings.language)))


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, conn: ConnDep,
               settings: SettingsDep) -> Response:
    return _respond(service().collection(conn, _request_info(request, settings.language),
                                         collection_id))


@router.get("/collections/{collection_id}/items")
def items(collection_id: str, request: Request, conn: ConnDep, settings: SettingsDep) -> Response:
    """Features of a collection, filtered by bbox, datetime and properties, one page at a time."""
    return _respond(service().items(conn, _request_info(request, settings.language),
                                    collection_id))


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(collection_id: str, feature_id: str, request: Request, conn: ConnDep,
         settings: SettingsDep) -> Response:
    return _respond(service().item(conn, _request_info(request, settings.language),
                                   collection_id, feature_id))
