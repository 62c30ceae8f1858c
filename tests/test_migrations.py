"""Migrations apply from an empty database and record every version."""

from __future__ import annotations

import psycopg

from vuonso.core import migrate
from vuonso.core.settings import load_settings


def test_upgrade_from_empty_applies_all(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        status = migrate.status(conn)
    assert status, "no migrations discovered"
    assert all(row["applied"] for row in status)


def test_upgrade_twice_is_noop(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        applied = migrate.upgrade(conn, load_settings(database_url=database_url))
    assert applied == []


def test_readings_partitioned_without_timescale(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        has_timescale = conn.execute(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        kind = conn.execute(
            "SELECT relkind FROM pg_class WHERE oid = 'ingest.readings'::regclass"
        ).fetchone()
        brin = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'ingest'"
            " AND tablename = 'readings' AND indexdef ILIKE '%%brin%%autosummarize%%'"
        ).fetchone()
    assert has_timescale is not None
    assert kind is not None
    assert brin is not None
    if has_timescale[0] == 0:
        assert kind[0] == "p"
        assert brin[0] == 1
