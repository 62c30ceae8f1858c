"""The ingest worker: batches deliveries, stores each batch in one transaction, then acks.

A message is acknowledged to the broker only after the transaction holding its readings or its
dead letter has committed. If the database fails, the batch is retried on a new connection and
nothing is acknowledged meanwhile. A killed worker leaves its messages unacknowledged, so the
broker redelivers them when the same persistent session reconnects.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from vuonso.core.settings import Settings
from vuonso.ingest.fix_sink import store_fix_messages
from vuonso.ingest.pipeline import DeadLetter, Message, Outcome, Pipeline
from vuonso.ingest.store import ReadingStore, write_dead_letters
from vuonso.ingest.subscriber import Delivery, Subscriber

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.5, 1, 2, 5, 10)


@dataclass(slots=True)
class WorkerStats:
    messages: int = 0
    batches: int = 0
    inserted: int = 0
    conflicting: int = 0
    dead_letters: int = 0
    fixes: int = 0
    acked: int = 0
    db_retries: int = 0
    started: float = field(default_factory=time.monotonic)


class IngestWorker:
    """Reads the subscriber's queue and writes batches until `stop()` is called."""

    def __init__(self, settings: Settings, *, client_id: str | None = None,
                 on_batch: Callable[[Outcome], None] | None = None) -> None:
        self.settings = settings
        self.subscriber = Subscriber(settings, client_id=client_id)
        self.pipeline = Pipeline(settings)
        self.store = ReadingStore()
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._on_batch = on_batch

    def run(self) -> None:
        """Connect to the broker and process deliveries until stopped."""
        self.subscriber.start()
        log.info("ingest worker started (batch %d, wait %d ms)", self.settings.ingest_batch_size,
                 self.settings.ingest_batch_wait_ms)
        try:
            while not self._stop.is_set():
                batch = self._collect()
                if batch:
                    self._process(batch)
        finally:
            self.subscriber.stop()
            if self._conn is not None:
                self._conn.close()
            log.info("ingest worker stopped: %d messages, %d readings stored, %d dead letters",
                     self.stats.messages, self.stats.inserted, self.stats.dead_letters)

    def stop(self) -> None:
        self._stop.set()

    def _collect(self) -> list[Delivery]:
        """Wait for a first delivery, then gather more until the batch is full or its time is up."""
        deliveries = self.subscriber.deliveries
        try:
            first = deliveries.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.ingest_batch_wait_ms / 1000
        while len(batch) < self.settings.ingest_batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(deliveries.get_nowait() if remaining <= 0
                             else deliveries.get(timeout=remaining))
            except queue.Empty:
                break
            if remaining <= 0 and deliveries.empty():
                break
        return batch

    def _process(self, batch: list[Delivery]) -> None:
        messages = [Message(d.topic, d.payload, d.received_at) for d in batch]
        attempt = 0
        isolate = False
        while True:
            if self._stop.is_set() and attempt > 0:
                return  # left unacknowledged: the broker redelivers them to the next run
            try:
                outcome = self._write_one_by_one(messages) if isolate else self._write(messages)
                break
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop_connection()
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                attempt += 1
                self.stats.db_retries += 1
                log.warning("database write failed (%s); retrying batch of %d in %.1f s",
                            _first_line(exc), len(batch), delay)
                self._stop.wait(delay)
            except psycopg.Error as exc:
                # A statement failed on the data itself: write message by message so that the
                # one causing it becomes a dead letter instead of blocking the batch forever.
                log.error("batch of %d failed (%s); writing its messages one by one",
                          len(batch), _first_line(exc))
                self._drop_connection()
                isolate = True
        for delivery in batch:
            if self.subscriber.ack(delivery):
                self.stats.acked += 1
        self.stats.messages += len(batch)
        self.stats.batches += 1
        if self._on_batch:
            self._on_batch(outcome)

    def _write(self, messages: list[Message]) -> Outcome:
        conn = self._connection()
        with conn.transaction():
            outcome = self.pipeline.run(conn, messages)
        self.store.prepare(conn, outcome.rows)
        with conn.transaction():
            result = self.store.write(conn, outcome.rows, outcome.dead_letters)
            fixes = store_fix_messages(conn, outcome.fixes) if outcome.fixes else None
        self.stats.inserted += result.inserted
        self.stats.conflicting += result.conflicting
        self.stats.dead_letters += result.dead_letters
        if fixes is not None:
            self.stats.fixes += fixes.stored
            self.stats.dead_letters += fixes.dead_letters
        return outcome

    def _write_one_by_one(self, messages: list[Message]) -> Outcome:
        merged = Outcome()
        for message in messages:
            try:
                single = self._write([message])
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise  # the connection failed, not the message: the caller retries
            except psycopg.Error as exc:
                self._drop_connection()
                letter = DeadLetter(message.topic, message.payload,
                                    self.pipeline.format_for(message.topic), "storage_failed",
                                    f"the database rejected this message: {_first_line(exc)}",
                                    message.received_at)
                conn = self._connection()
                with conn.transaction():
                    write_dead_letters(conn, [letter])
                self.stats.dead_letters += 1
                merged.dead_letters.append(letter)
                continue
            merged.rows.extend(single.rows)
            merged.dead_letters.extend(single.dead_letters)
        return merged

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.settings.database_url.get_secret_value(),
                                         connect_timeout=5)
            self.store.forget()
            self.pipeline.cache.forget()
            log.info("ingest worker connected to the database")
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
