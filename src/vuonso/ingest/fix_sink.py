"""Hand GPS fixes received over MQTT to the GIS package, dead-lettering payloads it rejects."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from vuonso.gis import fixes as gis_fixes
from vuonso.gis.errors import GisError
from vuonso.ingest.pipeline import DeadLetter, Message
from vuonso.ingest.store import write_dead_letters

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FixResult:
    stored: int
    dead_letters: int


def store_fix_messages(conn: psycopg.Connection, messages: Sequence[Message]) -> FixResult:
    """Parse and store the fixes of each message in the caller's transaction."""
    parsed = []
    letters = []
    for message in messages:
        try:
            parsed.extend(gis_fixes.parse_fix_payload(message.topic, message.payload))
        except GisError as exc:
            letters.append(DeadLetter(message.topic, message.payload, "fix", exc.code,
                                      exc.message, message.received_at))
    stored = 0
    if parsed:
        result = gis_fixes.store_fixes(conn, parsed)
        stored = result.inserted
    if letters:
        write_dead_letters(conn, letters)
    return FixResult(stored, len(letters))
