"""No loss and no duplicates while workers, the broker and the database are killed or restarted.

Each test publishes N QoS 1 messages (one reading each) at a bounded rate from a thread, disturbs
the system at set fractions of the stream, and expects exactly N rows.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.mqtt import WorkerProcess, count_readings, native_message, wait_until
from tests.support.services import Broker, Postgres
from vuonso.core import migrate
from vuonso.core.settings import load_settings
from vuonso.ingest.devices import register_device
from vuonso.simulators.publisher import Publisher

N = 10_000
RATE_PER_S = 2_500
DEVICE = "st-delivery"

pytestmark = pytest.mark.slow


@pytest.fixture()
def private_broker() -> Iterator[Broker]:
    instance = Broker()
    instance.start()
    yield instance
    instance.close()


class StreamPublisher(threading.Thread):
    """Publishes N messages at RATE_PER_S and waits until the broker acknowledged all of them."""

    def __init__(self, broker_url: str, count: int = N) -> None:
        super().__init__(daemon=True)
        self.broker_url = broker_url
        self.count = count
        self.published = 0
        self.acked_all = False
        self.no_subscribers = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with Publisher(self.broker_url, client_id="delivery-publisher") as publisher:
                started = time.monotonic()
                for index in range(self.count):
                    topic, payload = native_message(DEVICE, index)
                    publisher.publish(topic, payload)
                    self.published = index + 1
                    ahead = self.published / RATE_PER_S - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                publisher.wait_all_acked(timeout=120)
                self.acked_all = True
                self.no_subscribers = publisher.stats.no_subscribers
        except BaseException as exc:  # reported by the test thread
            self.error = exc


def run_stream(database_url: str, broker: Broker,
               disturbances: list[tuple[float, Callable[[], None]]]) -> None:
    """Publish the stream and run each disturbance once the row count passes its fraction of N."""
    stream = StreamPublisher(broker.url)
    stream.start()
    for fraction, disturb in disturbances:
        assert wait_until(lambda f=fraction: count_readings(database_url) >= f * N, timeout=120), \
            f"stream stalled before {fraction:.0%} of {N} rows"
        disturb()
    stream.join(timeout=300)
    assert stream.error is None, f"publisher failed: {stream.error!r}"
    assert stream.acked_all, "the broker did not acknowledge every published message"
    assert stream.no_subscribers == 0, "the broker had no subscriber for some messages"
    assert wait_until(lambda: count_readings(database_url) >= N, timeout=120), \
        f"only {count_readings(database_url)} of {N} rows stored"
    time.sleep(2)  # redeliveries still in flight would show up as extra rows here
    assert count_readings(database_url) == N


def test_worker_killed_twice_and_broker_restarted(db: psycopg.Connection, database_url: str,
                                                  private_broker: Broker, tmp_path: Path) -> None:
    register_device(db, DEVICE, "vuonso-station", 107.9, 13.9)
    worker = WorkerProcess(database_url, private_broker.url, "delivery-worker",
                           str(tmp_path / "worker.log"))
    worker.start()
    worker.wait_subscribed()

    def kill_and_restart() -> None:
        worker.kill()
        time.sleep(0.5)
        worker.start()

    try:
        run_stream(database_url, private_broker, [
            (0.15, kill_and_restart),
            (0.35, kill_and_restart),
            (0.55, private_broker.restart),
        ])
    finally:
        worker.stop()


def test_three_workers_one_killed(db: psycopg.Connection, database_url: str,
                                  private_broker: Broker, tmp_path: Path) -> None:
    register_device(db, DEVICE, "vuonso-station", 107.9, 13.9)
    workers = [WorkerProcess(database_url, private_broker.url, f"shared-worker-{i}",
                             str(tmp_path / f"worker-{i}.log"), share_group="ingest")
               for i in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_subscribed()

    def kill_second() -> None:
        workers[1].kill()
        time.sleep(1.0)
        workers[1].start()

    try:
        run_stream(database_url, private_broker, [(0.3, kill_second)])
    finally:
        for worker in workers:
            worker.stop()
    stored = [_stored_by(Path(w.log_path).read_text()) for w in workers]
    assert all(count > 0 for count in stored), f"a worker stored nothing: {stored}"


def _stored_by(log_text: str) -> int:
    """Sum the readings each run of a worker reported when it stopped (killed runs report none)."""
    return sum(int(m) for m in re.findall(r"(\d+) readings stored", log_text))


@pytest.fixture()
def cluster() -> Iterator[Postgres]:
    """A migrated database on its own PostgreSQL server, which the test may restart."""
    instance = Postgres()
    instance.start()
    with psycopg.connect(instance.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    with psycopg.connect(instance.url) as conn:
        migrate.upgrade(conn, load_settings(database_url=instance.url))
    yield instance
    instance.close()


def test_database_restarted_mid_stream(cluster: Postgres, private_broker: Broker,
                                       tmp_path: Path) -> None:
    with psycopg.connect(cluster.url) as conn:
        register_device(conn, DEVICE, "vuonso-station", 107.9, 13.9)
    worker = WorkerProcess(cluster.url, private_broker.url, "db-restart-worker",
                           str(tmp_path / "worker.log"))
    worker.start()
    worker.wait_subscribed()
    try:
        run_stream(cluster.url, private_broker, [(0.3, cluster.restart)])
    finally:
        worker.stop()
    assert "retrying batch" in Path(worker.log_path).read_text()
