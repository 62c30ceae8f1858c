"""Database helpers shared by fixtures."""

from __future__ import annotations

import psycopg

# Tables emptied between tests; core.workspaces keeps its seeded production row.
PACKAGE_SCHEMAS = ("gis", "ingest")


def empty_package_tables(conn: psycopg.Connection) -> None:
    """Truncate every table of the package schemas; readings partitions go through their parent."""
    tables = conn.execute(
        "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables"
        " WHERE schemaname = ANY(%s) AND tablename NOT LIKE 'readings_y%%'",
        (list(PACKAGE_SCHEMAS),),
    ).fetchall()
    if tables:
        conn.execute("TRUNCATE " + ", ".join(t[0] for t in tables) + " RESTART IDENTITY CASCADE")
