"""Swagger UI at /docs, served from this server so that it works without internet.

FastAPI's built-in /docs and /redoc pages load their scripts from cdn.jsdelivr.net, so the app is
created with `docs_url=None, redoc_url=None` and this router serves /docs instead. The Swagger UI
files come from the npm package swagger-ui-dist (pinned in package.json and installed by
`make demo`) and are mounted at /static/vendor/swagger-ui. ReDoc has no local copy, so /redoc is
not served.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from vuonso.api.deps import LanguageDep
from vuonso.api.vendor import VendorFiles, find_node_package
from vuonso.core.i18n import translate

SWAGGER_UI_URL = "/static/vendor/swagger-ui"

MISSING_FILES = ("Swagger UI is not installed (node_modules/swagger-ui-dist). "
                 "Run `make demo` in the repository to install it.")


def find_swagger_ui() -> Path | None:
    """Return the swagger-ui-dist folder in the node_modules of the repository root, or None."""
    return find_node_package("swagger-ui-dist", "swagger-ui-bundle.js")


router = APIRouter(include_in_schema=False)
# The lambda looks find_swagger_ui up at each call, so tests can replace it.
router.mount(SWAGGER_UI_URL, VendorFiles("Swagger UI", lambda: find_swagger_ui(), MISSING_FILES),
             name="swagger-ui")


def _missing_page(language: str, openapi_url: str) -> HTMLResponse:
    title = translate("api.docs.missing_title", language)
    page = (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n<p>{translate('api.docs.missing_hint', language)}</p>\n"
        f"<pre>make demo</pre>\n"
        f"<p>{translate('api.docs.missing_schema', language)} "
        f'<a href="{openapi_url}">{openapi_url}</a>.</p>\n'
        f"</body>\n</html>\n"
    )
    return HTMLResponse(page, status_code=503)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request, language: LanguageDep) -> HTMLResponse:
    """Swagger UI for the app's OpenAPI description, or how to install it (503) when missing."""
    app = request.app
    if app.openapi_url is None:
        return HTMLResponse("The OpenAPI description is disabled on this server.", 404)

    # Behind a proxy that strips a path prefix, every URL the browser loads needs it back.
    root_path = request.scope.get("root_path", "").rstrip("/")
    openapi_url = root_path + app.openapi_url
    if find_swagger_ui() is None:
        return _missing_page(language, openapi_url)

    assets = root_path + SWAGGER_UI_URL
    # Swagger UI fetches a validity badge from validator.swagger.io unless validatorUrl is null.
    parameters = {**(app.swagger_ui_parameters or {}), "validatorUrl": None}
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=parameters,
    )
