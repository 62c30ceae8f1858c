"""Database connections: a pool for services, single connections for commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from vuonso.core.errors import DatabaseError
from vuonso.core.settings import redact_url

log = logging.getLogger(__name__)


def open_pool(database_url: str, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool:
    """Open a connection pool and wait until one connection works."""
    pool = ConnectionPool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": False},
        name="vuonso",
    )
    try:
        pool.open(wait=True, timeout=15)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        pool.close()
        raise DatabaseError(
            f"cannot connect to the database at {redact_url(database_url)}: {exc}; "
            "check DATABASE_URL and that PostgreSQL is running",
        ) from exc
    log.info("database pool open on %s", redact_url(database_url))
    return pool


@contextmanager
def connect(database_url: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """Open one connection for a command, closing it afterwards."""
    try:
        conn = psycopg.connect(database_url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"cannot connect to the database at {redact_url(database_url)}: {exc}; "
            "check DATABASE_URL and that PostgreSQL is running",
        ) from exc
    try:
        yield conn
    finally:
        conn.close()
