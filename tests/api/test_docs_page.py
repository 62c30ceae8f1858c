"""Swagger UI at /docs served from node_modules, with no request to other hosts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.support.services import REPO
from vuonso.api.app import create_app
from vuonso.api.routers import docs
from vuonso.api.vendor import VendorFiles
from vuonso.core.settings import load_settings

# src= and href= attributes and url: '...' values of the Swagger UI page.
LOADED_URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']""")


def docs_app() -> FastAPI:
    """An app with only the docs router, created as create_app must create it."""
    app = FastAPI(title="Docs test", docs_url=None, redoc_url=None)
    app.state.settings = load_settings()
    app.include_router(docs.router)
    return app


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(docs_app()) as test_client:
        yield test_client


def loaded_urls(html: str) -> list[str]:
    return [src or url for src, url in LOADED_URL.findall(html)]


def test_docs_page_loads_local_files(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = loaded_urls(response.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in urls
    assert "/static/vendor/swagger-ui/swagger-ui.css" in urls
    assert "/static/vendor/swagger-ui/favicon-32x32.png" in urls
    assert "/openapi.json" in urls
    for url in urls:
        assert url == "/openapi.json" or url.startswith("/static/vendor/"), url


def test_docs_page_names_no_other_host(client: TestClient) -> None:
    html = client.get("/docs").text

    assert "cdn.jsdelivr.net" not in html
    assert "fastapi.tiangolo.com" not in html
    assert re.findall(r"https?://", html) == []
    assert '"validatorUrl": null' in html


def test_docs_page_under_root_path() -> None:
    with TestClient(docs_app(), root_path="/vuonso") as test_client:
        urls = loaded_urls(test_client.get("/docs").text)

    assert "/vuonso/static/vendor/swagger-ui/swagger-ui-bundle.js" in urls
    assert "/vuonso/openapi.json" in urls


def test_swagger_ui_files_served(client: TestClient) -> None:
    assert docs.find_swagger_ui() == REPO / "node_modules" / "swagger-ui-dist"

    script = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text

    css = client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")

    icon = client.get("/static/vendor/swagger-ui/favicon-32x32.png")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/png"


def test_docs_page_without_package(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "find_swagger_ui", lambda: None)

    response = client.get("/docs", params={"lang": "en"})

    assert response.status_code == 503
    assert "Swagger UI is not installed" in response.text
    assert "make demo" in response.text
    assert '<a href="/openapi.json">' in response.text
    assert "swagger-ui-bundle.js" not in response.text


def test_docs_page_without_package_vietnamese(client: TestClient,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "find_swagger_ui", lambda: None)

    response = client.get("/docs")

    assert response.status_code == 503
    assert '<html lang="vi">' in response.text
    assert "Chưa cài Swagger UI" in response.text
    assert "make demo" in response.text


def test_swagger_ui_files_missing_is_404(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "find_swagger_ui", lambda: None)
    vendor = VendorFiles("Swagger UI", lambda: docs.find_swagger_ui(), docs.MISSING_FILES)
    app = Starlette(routes=[Mount("/vendor", vendor)])

    response = TestClient(app).get("/vendor/swagger-ui-bundle.js")

    assert response.status_code == 404
    assert "make demo" in response.text


def test_docs_page_without_openapi() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = load_settings()
    app.include_router(docs.router)

    response = TestClient(app).get("/docs")

    assert response.status_code == 404


def test_app_serves_local_docs_only() -> None:
    # The lifespan, and so the database pool, is not started because /docs and /openapi.json need
    # neither.
    test_client = TestClient(create_app(load_settings()))

    urls = loaded_urls(test_client.get("/docs").text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in urls
    assert all(not url.startswith("http") for url in urls), urls
    script = test_client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert test_client.get("/redoc").status_code == 404
    assert test_client.get("/openapi.json").status_code == 200
