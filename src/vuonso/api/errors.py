"""One handler turns every package exception into an HTTP error with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from vuonso.core.errors import InvalidInput, VuonSoError
from vuonso.core.i18n import pick_language, translate

log = logging.getLogger(__name__)


def _language(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang in ("vi", "en"):
        return lang
    default = getattr(request.app.state, "settings", None)
    return pick_language(request.headers.get("accept-language"),
                         default=default.language if default else "vi")


def error_body(code: str, message: str, detail: str | None = None,
               problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if detail:
        body["error"]["detail"] = detail
    if problems:
        body["error"]["problems"] = problems
    return body


async def _platform_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VuonSoError)
    language = _language(request)
    message = translate(exc.key, language, **exc.params)
    if message == exc.key:
        message = translate(f"error.{exc.code}", language)
    problems = exc.problems if isinstance(exc, InvalidInput) else None
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        detail = None
    else:
        detail = exc.message
    return JSONResponse(error_body(exc.code, message, detail, problems), status_code=exc.status)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", ""),
         "value": err.get("input") if isinstance(err.get("input"), str | int | float) else None}
        for err in exc.errors()
    ]
    message = translate("error.invalid_input", _language(request))
    detail = "; ".join(f"{p['location']}: {p['message']}" for p in problems)
    return JSONResponse(error_body("invalid_input", message, detail, problems), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VuonSoError, _platform_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
