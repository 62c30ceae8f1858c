"""Write a batch in one transaction: readings through COPY and INSERT ... ON CONFLICT DO NOTHING,
dead letters beside them. A reading is unique on (device, metric, time): a repeated key keeps the
first value stored, and a repeat with a different value is logged."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date

import psycopg

from vuonso.ingest import partitions
from vuonso.ingest.pipeline import DeadLetter, Row

log = logging.getLogger(__name__)

_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS readings_stage ("
    " seq integer NOT NULL, time timestamptz NOT NULL, device_id text NOT NULL,"
    " metric text NOT NULL, value double precision NOT NULL, unit text NOT NULL,"
    " plot_id bigint, received_at timestamptz NOT NULL) ON COMMIT DELETE ROWS"
)
_STAGE_COLUMNS = "seq, time, device_id, metric, value, unit, plot_id, received_at"
_STAGE_TYPES = ["int4", "timestamptz", "text", "text", "float8", "text", "int8", "timestamptz"]
# Rows are inserted in arrival order, so within one batch the first of two equal keys wins too.
_MERGE = (
    "INSERT INTO ingest.readings (time, device_id, metric, value, unit, plot_id, received_at)"
    " SELECT time, device_id, metric, value, unit, plot_id, received_at"
    " FROM readings_stage ORDER BY seq"
    " ON CONFLICT (device_id, metric, time) DO NOTHING"
)
_CONFLICTS = (
    "SELECT s.device_id, s.metric, s.time, r.value, s.value FROM readings_stage s"
    " JOIN ingest.readings r USING (device_id, metric, time)"
    " WHERE r.value IS DISTINCT FROM s.value LIMIT 20"
)
_CONFLICT_COUNT = (
    "SELECT count(*) FROM readings_stage s JOIN ingest.readings r USING (device_id, metric, time)"
    " WHERE r.value IS DISTINCT FROM s.value"
)


@dataclass(frozen=True, slots=True)
class StoreResult:
    staged: int
    inserted: int
    conflicting: int
    dead_letters: int


class ReadingStore:
    """Owns the staging table of one connection and the set of partitions known to exist."""

    def __init__(self) -> None:
        self._months: set[date] = set()

    def prepare(self, conn: psycopg.Connection, rows: Sequence[Row]) -> None:
        """Create missing monthly partitions for these rows in a transaction of their own, so the
        lock it takes on the parent table is not held while the batch is written."""
        months = {date(r.time.astimezone(UTC).year, r.time.astimezone(UTC).month, 1) for r in rows}
        if months <= self._months:
            return
        with conn.transaction():
            partitions.ensure_for_times(conn, [r.time for r in rows])
        self._months |= months

    def forget(self) -> None:
        """Drop what is known of the connection (after a reconnect)."""
        self._months.clear()

    def write(self, conn: psycopg.Connection, rows: Sequence[Row],
              dead_letters: Sequence[DeadLetter]) -> StoreResult:
        """Store rows and dead letters in the caller's open transaction (call prepare first)."""
        inserted = conflicting = 0
        if rows:
            conn.execute(_STAGE)
            with conn.cursor() as cur:
                with cur.copy(f"COPY readings_stage ({_STAGE_COLUMNS}) FROM STDIN"
                              " (FORMAT BINARY)") as copy:
                    copy.set_types(_STAGE_TYPES)
                    for seq, row in enumerate(rows):
                        copy.write_row((seq, row.time, row.device_id, row.metric, row.value,
                                        row.unit, row.plot_id, row.received_at))
                cur.execute(_MERGE)
                inserted = cur.rowcount
            if inserted < len(rows):
                conflicting = self._log_conflicts(conn)
        if dead_letters:
            write_dead_letters(conn, dead_letters)
        return StoreResult(len(rows), inserted, conflicting, len(dead_letters))

    @staticmethod
    def _log_conflicts(conn: psycopg.Connection) -> int:
        count_row = conn.execute(_CONFLICT_COUNT).fetchone()
        count = int(count_row[0]) if count_row else 0
        if count:
            samples = conn.execute(_CONFLICTS).fetchall()
            shown = ", ".join(f"{d}/{m}@{t.isoformat()} kept {old} got {new}"
                              for d, m, t, old, new in samples[:5])
            log.warning("kept the first value of %d repeated reading key(s) that arrived with a "
                        "different value: %s", count, shown)
        return count


def write_dead_letters(conn: psycopg.Connection, letters: Sequence[DeadLetter]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingest.dead_letters"
            " (received_at, topic, payload, format, reason_code, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(d.received_at, d.topic, d.payload, d.format, d.reason_code, d.reason)
             for d in letters],
        )
    for letter in letters[:3]:
        log.warning("dead letter from %s: %s (%s)", letter.topic, letter.reason_code, letter.reason)
    if len(letters) > 3:
        log.warning("%d more dead letters in this batch", len(letters) - 3)
