"""Application factory; the pool and settings live in the lifespan, never at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from vuonso import __version__
from vuonso.api.errors import install_error_handlers
from vuonso.api.routers import (
    devices,
    docs,
    gis_exports,
    gis_imports,
    health,
    locate,
    ogc,
    pages,
    plots,
    readings,
    tracks,
)
from vuonso.api.routers import map as map_router
from vuonso.core.db import open_pool
from vuonso.core.settings import Settings, load_settings

log = logging.getLogger(__name__)

ROUTERS = (health, plots, devices, readings, pages, gis_imports, gis_exports, tracks, locate, ogc,
           map_router, docs)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database pool opens when the app starts and closes when it stops."""
    chosen = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = chosen
        app.state.pool = open_pool(chosen.database_url.get_secret_value())
        log.info("API started, version %s", __version__)
        try:
            yield
        finally:
            app.state.pool.close()
            log.info("API stopped")

    # The default /docs and /redoc load Swagger UI and ReDoc from a CDN, which offline farm servers
    # cannot reach. routers/docs.py serves /docs from node_modules instead, and ReDoc is not served.
    app = FastAPI(title="Vườn Số API", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = chosen
    install_error_handlers(app)
    # Phones on weak mobile data: pages and GeoJSON shrink to about a third.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
