"""GET /health: state of the database, the MQTT broker and the chain; 200 when all are up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vuonso.api.deps import LanguageDep, SettingsDep
from vuonso.core.health import CheckResult, run_checks
from vuonso.core.i18n import translate

router = APIRouter(tags=["health"])


def check_body(result: CheckResult, language: str) -> dict[str, Any]:
    """JSON of one check: state, latency, redacted URL, its facts and, when down, the error."""
    body: dict[str, Any] = {
        "state": "up" if result.up else "down",
        "latency_ms": result.latency_ms,
        "url": result.url,
        **result.info,
    }
    if result.error:
        body["error"] = {
            "code": result.error,
            "message": translate(f"api.health.{result.error}", language),
            "detail": result.detail,
        }
    return body


@router.get("/health", summary="State of the database, broker and chain (503 when one is down)")
async def health(settings: SettingsDep, language: LanguageDep) -> JSONResponse:
    # The checks block on sockets, so they run in a worker thread, never on the event loop.
    report = await run_in_threadpool(run_checks, settings)
    body = {
        "status": "ok" if report.ok else "degraded",
        "checks": {name: check_body(result, language) for name, result in report.checks.items()},
    }
    return JSONResponse(body, status_code=200 if report.ok else 503,
                        headers={"Cache-Control": "no-store"})
