"""Dead letters: rejected messages kept with their raw payload and reason, and their replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from vuonso.core.settings import Settings
from vuonso.ingest.pipeline import Message, Pipeline
from vuonso.ingest.store import ReadingStore


@dataclass(frozen=True, slots=True)
class ReplayResult:
    dead_letter_id: int
    stored: int
    still_rejected: bool
    reason: str


def list_dead_letters(conn: psycopg.Connection, *, pending_only: bool = True,
                      reason_code: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[dict[str, Any]]:
    """List dead letters, newest first; pending ones are those not replayed successfully."""
    where = ["TRUE"]
    params: list[Any] = []
    if pending_only:
        where.append("replayed_at IS NULL")
    if reason_code:
        where.append("reason_code = %s")
        params.append(reason_code)
    params += [limit, offset]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, received_at, topic, format, reason_code, reason, length(payload) AS bytes,"
            " payload, replayed_at, replay_result FROM ingest.dead_letters"
            f" WHERE {' AND '.join(where)} ORDER BY received_at DESC, id DESC LIMIT %s OFFSET %s",
            params,
        ).fetchall()


def count_by_reason(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT reason_code, count(*) FROM ingest.dead_letters WHERE replayed_at IS NULL"
        " GROUP BY reason_code ORDER BY 2 DESC"
    ).fetchall()
    return {code: int(count) for code, count in rows}


def replay(conn: psycopg.Connection, settings: Settings, *, ids: list[int] | None = None,
           reason_code: str | None = None) -> list[ReplayResult]:
    """Run pending dead letters through the pipeline again, after a fix such as registering a
    device. A letter that now passes is marked replayed; one still rejected stays pending with
    its new reason. Readings already stored are never stored twice."""
    where = ["replayed_at IS NULL"]
    params: list[Any] = []
    if ids:
        where.append("id = ANY(%s)")
        params.append(ids)
    if reason_code:
        where.append("reason_code = %s")
        params.append(reason_code)
    letters = conn.execute(
        "SELECT id, topic, payload, received_at FROM ingest.dead_letters"
        f" WHERE {' AND '.join(where)} ORDER BY id FOR UPDATE SKIP LOCKED",
        params,
    ).fetchall()
    pipeline = Pipeline(settings)
    store = ReadingStore()
    results = []
    for letter_id, topic, payload, received_at in letters:
        outcome = pipeline.run(conn, [Message(topic, bytes(payload), received_at)])
        store.prepare(conn, outcome.rows)
        stored = store.write(conn, outcome.rows, []).inserted if outcome.rows else 0
        if outcome.fixes:
            from vuonso.ingest.fix_sink import store_fix_messages

            stored += store_fix_messages(conn, outcome.fixes).stored
        if outcome.dead_letters:
            again = outcome.dead_letters[0]
            conn.execute(
                "UPDATE ingest.dead_letters SET reason_code = %s, reason = %s,"
                " replay_result = %s WHERE id = %s",
                (again.reason_code, again.reason, f"rejected again: {again.reason_code}",
                 letter_id),
            )
            results.append(ReplayResult(letter_id, stored, True, again.reason))
        else:
            conn.execute(
                "UPDATE ingest.dead_letters SET replayed_at = now(), replay_result = %s"
                " WHERE id = %s",
                (f"stored {stored} readings", letter_id),
            )
            results.append(ReplayResult(letter_id, stored, False, ""))
    return results
