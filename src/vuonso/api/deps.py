"""Shared request dependencies as Annotated aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from psycopg_pool import ConnectionPool

from vuonso.core.i18n import pick_language
from vuonso.core.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request, committed when the handler returns normally."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        yield conn


def get_language(request: Request, lang: Annotated[str | None, Query(
        description="Language of messages and pages: vi (default) or en")] = None) -> str:
    if lang in ("vi", "en"):
        return lang
    return pick_language(request.headers.get("accept-language"),
                         default=request.app.state.settings.language)


SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[ConnectionPool, Depends(get_pool)]
ConnDep = Annotated[psycopg.Connection, Depends(get_conn)]
LanguageDep = Annotated[str, Depends(get_language)]
