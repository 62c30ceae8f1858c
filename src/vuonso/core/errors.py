"""Base exception of the platform.

VuonSoError
 ├── ConfigError                (core: invalid settings)
 ├── DatabaseError              (core: database unreachable or a migration failed)
 ├── NotFoundError              (any package: a requested record does not exist)
 ├── InvalidInput               (any package: input rejected, with per-item problems)
 └── package hierarchies        (ingest.errors, gis.errors, ...)

Each class carries an HTTP status, a stable code and a message key in the catalogs, so one
handler in the API turns any of them into a translated response.
"""

from __future__ import annotations

from typing import Any


class VuonSoError(Exception):
    """Base class: a safe message plus the data needed to translate it."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.key = key or f"error.{self.code}"
        self.params = params


class ConfigError(VuonSoError):
    status = 500
    code = "config_invalid"


class DatabaseError(VuonSoError):
    status = 503
    code = "database_unavailable"


class NotFoundError(VuonSoError):
    status = 404
    code = "not_found"


class InvalidInput(VuonSoError):
    """Input rejected; `problems` lists every problem found, each a dict with at least 'message'."""

    status = 422
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        *,
        problems: list[dict[str, Any]] | None = None,
        key: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message, key=key, **params)
        self.problems = problems or []
