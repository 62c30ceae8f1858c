"""Monthly partitions of ingest.readings on plain PostgreSQL (no-ops under TimescaleDB)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3
_PARTITION_LOCK_KEY = 0x7276_5F70_6172


def _month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def is_partitioned(conn: psycopg.Connection) -> bool:
    """Return whether ingest.readings is natively partitioned rather than a hypertable."""
    row = conn.execute(
        "SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'ingest' AND c.relname = 'readings'"
    ).fetchone()
    return bool(row and row[0])


def existing_months(conn: psycopg.Connection) -> set[date]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent"
        " JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE n.nspname = 'ingest' AND p.relname = 'readings'"
    ).fetchall()
    months = set()
    for (name,) in rows:
        # readings_yYYYYmMM
        if name.startswith("readings_y") and len(name) == len("readings_y2026m01"):
            months.add(date(int(name[10:14]), int(name[15:17]), 1))
    return months


def create_months(conn: psycopg.Connection, months: Iterable[date]) -> list[date]:
    """Create the monthly partitions that do not exist yet; return the months created."""
    created = []
    # Workers that meet a new month at once would race on CREATE TABLE; serialise them.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK_KEY,))
    have = existing_months(conn)
    for month in sorted(set(months) - have):
        name = f"readings_y{month.year:04d}m{month.month:02d}"
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS ingest.{} PARTITION OF ingest.readings"
                " FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(name),
                sql.Literal(datetime(month.year, month.month, 1, tzinfo=UTC)),
                sql.Literal(datetime(*_next_month(month).timetuple()[:3], tzinfo=UTC)),
            )
        )
        created.append(month)
        log.info("created readings partition %s", name)
    return created


def ensure_ahead(conn: psycopg.Connection, *, now: datetime | None = None) -> list[date]:
    """Create partitions from the previous month to MONTHS_AHEAD months ahead."""
    moment = now or datetime.now(UTC)
    month = _month_start(moment)
    previous = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    months = [previous]
    for _ in range(MONTHS_AHEAD + 1):
        months.append(month)
        month = _next_month(month)
    return create_months(conn, months)


def ensure_for_times(conn: psycopg.Connection, times: Iterable[datetime]) -> list[date]:
    """Create the partitions needed to store readings at these times, if the table is partitioned."""
    if not is_partitioned(conn):
        return []
    return create_months(conn, {_month_start(t.astimezone(UTC)) for t in times})
