"""Turn raw MQTT messages into rows to store and dead letters, without touching the broker.

Used by the worker for live messages and by the dead-letter replay, so both apply the same
decoding, validation and device rules.
"""

from __future__ import annotations

import logging
import re
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg

from vuonso.core.settings import Settings
from vuonso.ingest import devices
from vuonso.ingest.decoders import decode
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.model import Reading

log = logging.getLogger(__name__)

# How long a device look-up result is trusted before asking the registry again, in seconds.
KNOWN_DEVICE_TTL_S = 60.0
UNKNOWN_DEVICE_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class Message:
    """One message as received: broker topic and payload, plus the time the worker got it."""

    topic: str
    payload: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Row:
    time: datetime
    device_id: str
    metric: str
    value: float
    unit: str
    plot_id: int | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    format: str | None
    reason_code: str
    reason: str
    received_at: datetime


@dataclass(slots=True)
class Outcome:
    """Rows, dead letters and fix messages produced from one batch of messages."""

    rows: list[Row] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    fixes: list[Message] = field(default_factory=list)
    stored_per_message: list[int] = field(default_factory=list)


class DeviceCache:
    """Registry look-ups with a short memory, so a batch costs at most one query for misses."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, devices.DeviceRecord]] = {}
        self._unknown: dict[str, float] = {}

    def resolve(self, conn: psycopg.Connection,
                identifiers: set[str]) -> dict[str, devices.DeviceRecord]:
        now = clock.monotonic()
        found: dict[str, devices.DeviceRecord] = {}
        missing: list[str] = []
        for identifier in identifiers:
            cached = self._known.get(identifier)
            if cached and now - cached[0] < KNOWN_DEVICE_TTL_S:
                found[identifier] = cached[1]
            elif now - self._unknown.get(identifier, -1e9) >= UNKNOWN_DEVICE_TTL_S:
                missing.append(identifier)
        if missing:
            looked_up = devices.lookup(conn, missing)
            for identifier in missing:
                record = looked_up.get(identifier)
                if record is None:
                    self._unknown[identifier] = now
                else:
                    self._known[identifier] = (now, record)
                    self._unknown.pop(identifier, None)
                    found[identifier] = record
        return found

    def model_of(self, identifier: str) -> str | None:
        cached = self._known.get(identifier)
        return cached[1].model if cached else None

    def forget(self) -> None:
        self._known.clear()
        self._unknown.clear()


def filter_pattern(topic_filter: str) -> re.Pattern[str]:
    """Compile an MQTT topic filter: '+' matches one level, a final '#' the parent and any levels
    below it."""
    levels = topic_filter.split("/")
    parts: list[str] = []
    for index, level in enumerate(levels):
        if level == "#" and index == len(levels) - 1:
            return re.compile("^" + "/".join(parts) + ("(?:/.*)?$" if parts else ".*$"))
        parts.append("[^/]*" if level == "+" else re.escape(level))
    return re.compile("^" + "/".join(parts) + "$")


# Distinct topics remembered by the router; devices each have their own topic.
_TOPIC_CACHE_SIZE = 100_000


class TopicRouter:
    """Maps a topic to its payload format, or to "fix" for GPS fixes, remembering each topic."""

    def __init__(self, settings: Settings) -> None:
        self._routes = [(filter_pattern(settings.mqtt_fix_topic), "fix")]
        self._routes += [(filter_pattern(f), fmt) for f, fmt in settings.mqtt_topic_formats.items()]
        self._known: dict[str, str | None] = {}

    def route(self, topic: str) -> str | None:
        try:
            return self._known[topic]
        except KeyError:
            pass
        found = next((fmt for pattern, fmt in self._routes if pattern.match(topic)), None)
        if len(self._known) >= _TOPIC_CACHE_SIZE:
            self._known.clear()
        self._known[topic] = found
        return found


class Pipeline:
    """Decode, validate and resolve devices for a batch of messages."""

    def __init__(self, settings: Settings, cache: DeviceCache | None = None) -> None:
        self.settings = settings
        self.cache = cache or DeviceCache()
        self._router = TopicRouter(settings)
        self._max_future = timedelta(seconds=settings.ingest_max_future_s)
        self._max_age = timedelta(days=settings.ingest_max_age_days)

    def format_for(self, topic: str) -> str | None:
        route = self._router.route(topic)
        return None if route == "fix" else route

    def is_fix(self, topic: str) -> bool:
        return self._router.route(topic) == "fix"

    def run(self, conn: psycopg.Connection, messages: Sequence[Message]) -> Outcome:
        """Process messages in order; every message yields rows, a dead letter, or both."""
        outcome = Outcome()
        decoded: list[tuple[Message, str, list[Reading], list[tuple[str, str]]]] = []

        # 1. Decode each message on its own: one bad payload never affects its neighbours.
        for message in messages:
            if self.is_fix(message.topic):
                outcome.fixes.append(message)
                continue
            fmt = self.format_for(message.topic)
            problem = self._precheck(message, fmt)
            if problem:
                outcome.dead_letters.append(self._dead(message, fmt, *problem))
                continue
            assert fmt is not None
            try:
                result = decode(fmt, message.topic, message.payload,
                                received_at=message.received_at, model_for=self._model_for(conn))
            except DecodeError as exc:
                outcome.dead_letters.append(self._dead(message, fmt, exc.reason_code, exc.message))
                continue
            rejected = list(result.rejected)
            kept = []
            for reading in result.readings:
                time_problem = self._time_problem(reading, message.received_at)
                if time_problem:
                    rejected.append(time_problem)
                else:
                    kept.append(reading)
            decoded.append((message, fmt, kept, rejected))

        # 2. Resolve every device of the batch with one registry query for the misses.
        identifiers = {reading.device for _, _, kept, _ in decoded for reading in kept}
        known = self.cache.resolve(conn, identifiers) if identifiers else {}

        # 3. Build rows; unknown devices and rejected readings become dead letters.
        for message, fmt, kept, rejected in decoded:
            stored = 0
            unknown = sorted({r.device for r in kept if r.device not in known})
            for reading in kept:
                record = known.get(reading.device)
                if record is None:
                    continue
                outcome.rows.append(Row(reading.time, record.device_id, reading.metric,
                                        reading.value, reading.unit, record.plot_id,
                                        message.received_at))
                stored += 1
            if unknown:
                rejected.insert(0, ("unknown_device", f"device {', '.join(unknown)} is not "
                                    "registered; register it, then replay this dead letter"))
            if rejected or (stored == 0 and not unknown):
                code = rejected[0][0] if rejected else "no_readings"
                reason = "; ".join(text for _, text in rejected) or "the message has no readings"
                outcome.dead_letters.append(self._dead(message, fmt, code, reason))
            outcome.stored_per_message.append(stored)
        return outcome

    def _model_for(self, conn: psycopg.Connection) -> Callable[[str], str | None]:
        def model_for(identifier: str) -> str | None:
            model = self.cache.model_of(identifier)
            if model is None:
                record = self.cache.resolve(conn, {identifier}).get(identifier)
                model = record.model if record else None
            return model

        return model_for

    def _precheck(self, message: Message, fmt: str | None) -> tuple[str, str] | None:
        size = len(message.payload)
        if size > self.settings.ingest_max_payload_bytes:
            return ("payload_too_large", f"payload of {size} bytes exceeds the limit of "
                    f"{self.settings.ingest_max_payload_bytes} bytes (INGEST_MAX_PAYLOAD_BYTES)")
        if fmt is None:
            return ("topic_unknown", f"no payload format is configured for topic "
                    f"{message.topic!r}; add it to MQTT_TOPIC_FORMATS")
        return None

    def _time_problem(self, reading: Reading, received_at: datetime) -> tuple[str, str] | None:
        latest = received_at + self._max_future
        earliest = received_at - self._max_age
        if reading.time > latest:
            return ("time_in_future", f"{reading.metric} of {reading.device} at "
                    f"{reading.time.isoformat()} is more than {self.settings.ingest_max_future_s}"
                    " s after it was received; check the device clock")
        if reading.time < earliest:
            return ("time_too_old", f"{reading.metric} of {reading.device} at "
                    f"{reading.time.isoformat()} is older than "
                    f"{self.settings.ingest_max_age_days} days; check the device clock")
        return None

    @staticmethod
    def _dead(message: Message, fmt: str | None, code: str, reason: str) -> DeadLetter:
        return DeadLetter(message.topic, message.payload, fmt, code, reason, message.received_at)
