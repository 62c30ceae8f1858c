"""The phone map at /map and the light JSON it reads under /api/map/.

Leaflet is served from the npm package installed by `make demo` (node_modules/leaflet/dist) under
/static/vendor/leaflet. When it is missing, the page shows how to install it instead of a
broken map.
A tile layer is drawn only when the settings name a tile server (`map_tile_url`), so without
one, or without internet, plots show on a plain background.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vuonso import __version__
from vuonso.api.deps import ConnDep, LanguageDep, SettingsDep
from vuonso.api.vendor import VendorFiles, find_node_package
from vuonso.core.i18n import pick_language, translate
from vuonso.gis import plots
from vuonso.gis.ogc.map_data import ZOOM, farm_list, map_plots, parse_selection
from vuonso.gis.ogc.model import FilterParam, Workspace
from vuonso.ingest.features import MAP_LAYERS, plot_values

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LEAFLET_URL = "/static/vendor/leaflet"
WORKSPACE = "production"
METRIC = FilterParam("metric", values=tuple(MAP_LAYERS), required=True)


def find_leaflet() -> Path | None:
    """Return Leaflet's dist folder in the node_modules of the repository root, or None."""
    return find_node_package("leaflet/dist", "leaflet.js")


LEAFLET_MISSING = ("Leaflet is not installed (node_modules/leaflet). "
                   "Run `make demo` in the repository to install it.")


router = APIRouter(include_in_schema=False)
# The lambda looks find_leaflet up at each call, so tests can replace it.
router.mount(LEAFLET_URL, VendorFiles("Leaflet", lambda: find_leaflet(), LEAFLET_MISSING),
             name="leaflet")


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def _language(request: Request, default: str) -> str:
    chosen = request.query_params.get("lang")
    if chosen in ("vi", "en"):
        return chosen
    return pick_language(request.headers.get("accept-language"), default)


def _text(language: str) -> dict[str, str]:
    """Return the messages that map.js shows, keyed by the names it uses."""
    names = ("loading", "shown", "more", "none", "no_data", "load_failed", "locate",
             "locating", "located", "locate_failed", "locate_unsupported", "tiles_failed",
             "code", "area", "farm", "at", "open_plot", "in_view", "no_layer")
    return {name: translate(f"gis.map.js.{name}", language) for name in names}


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, settings: SettingsDep, language: LanguageDep) -> HTMLResponse:
    """Map of the plots, coloured by a chosen reading, with the phone's position on request."""
    tile_url = settings.map_tile_url
    config: dict[str, Any] = {
        "lang": language,
        "urls": {"plots": "/api/map/plots", "values": "/api/map/values",
                 "farms": "/api/map/farms", "plotPage": "/plots/{id}"},
        "tiles": None if not tile_url else {
            "url": tile_url,
            "attribution": settings.map_tile_attribution or "",
        },
        "layers": [
            {"name": layer.name, "label": translate(layer.label_key, language),
             "short": translate(f"{layer.label_key}.short", language),
             "unit": layer.unit, "domain": list(layer.domain), "aggregate": layer.aggregate,
             "windowHours": layer.window.total_seconds() / 3600}
            for layer in MAP_LAYERS.values()
        ],
        "text": _text(language),
    }
    other = "en" if language == "vi" else "vi"
    page = _environment().get_template("map.html").render(
        language=language, other_language=other,
        t=lambda key, **params: translate(key, language, **params),
        leaflet_ready=find_leaflet() is not None, leaflet_url=LEAFLET_URL, config=config,
        version=__version__, switch_href=f"/map?lang={other}",
    )
    return HTMLResponse(page)


def _workspace(conn: psycopg.Connection) -> Workspace:
    return Workspace(plots.workspace_id(conn, WORKSPACE), WORKSPACE)


@router.get("/api/map/farms")
def map_farms(conn: ConnDep) -> JSONResponse:
    """Farms with their plot count and the box of their plots, for the farm picker."""
    return JSONResponse({"farms": farm_list(conn, _workspace(conn))})


@router.get("/api/map/plots")
def map_plot_features(request: Request, conn: ConnDep, settings: SettingsDep) -> JSONResponse:
    """Light GeoJSON of plots by bbox, farm_code or company_code, simplified for `zoom`."""
    query, options = parse_selection(request.query_params.multi_items(),
                                     _language(request, settings.language), extra=[ZOOM])
    zoom = int(options.extra["zoom"]) if "zoom" in options.extra else None
    return JSONResponse(map_plots(conn, _workspace(conn), query, zoom),
                        media_type="application/geo+json")


@router.get("/api/map/values")
def map_values(request: Request, conn: ConnDep, settings: SettingsDep) -> JSONResponse:
    """Value of one reading layer (`metric`) for each plot of the same selection."""
    query, options = parse_selection(request.query_params.multi_items(),
                                     _language(request, settings.language), extra=[METRIC])
    layer = MAP_LAYERS[options.extra["metric"]]
    return JSONResponse(plot_values(conn, _workspace(conn), query, layer))
