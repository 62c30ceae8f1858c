"""Workspaces: a company's production data, or a practice space that a trainer opens for a class."""

from __future__ import annotations

import psycopg

from vuonso.core.errors import NotFoundError

PRODUCTION = "production"


def workspace_id(conn: psycopg.Connection, code: str = PRODUCTION) -> int:
    """Return the id of the workspace with this code; raise NotFoundError if there is none."""
    row = conn.execute("SELECT id FROM core.workspaces WHERE code = %s", (code,)).fetchone()
    if row is None:
        raise NotFoundError(f"workspace {code!r} not found", key="error.workspace_not_found",
                            workspace=code)
    return int(row[0])
