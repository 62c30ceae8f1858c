"""Test helpers around MQTT: wait for row counts and run ingest workers as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg

from tests.support.services import REPO


def count_readings(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM ingest.readings").fetchone()
    assert row is not None
    return int(row[0])


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except psycopg.OperationalError:
            pass  # the database may be restarting in the test
        time.sleep(interval)
    return condition()


class WorkerProcess:
    """`python -m vuonso ingest run` as a child process with its own client id."""

    def __init__(self, database_url: str, mqtt_url: str, client_id: str, log_path: str, *,
                 share_group: str = "") -> None:
        self.env = {**os.environ, "DATABASE_URL": database_url, "MQTT_URL": mqtt_url,
                    "MQTT_CLIENT_ID": client_id, "MQTT_SHARE_GROUP": share_group,
                    "INGEST_BATCH_WAIT_MS": "50", "PYTHONPATH": str(REPO / "src")}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([sys.executable, "-m", "vuonso", "ingest", "run"],
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_subscribed(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until the worker has logged `count` granted subscriptions in total."""
        def granted() -> bool:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read().count("subscriptions granted") >= count

        if not wait_until(granted, timeout):
            raise TimeoutError(f"worker did not subscribe within {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no chance to finish the batch or acknowledge anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def native_message(device: str, index: int, value: float | None = None) -> tuple[str, bytes]:
    """One native JSON message with one reading at a distinct second of the last day, so N messages
    (N < 86,400) are N rows."""
    import json
    from datetime import UTC, datetime, timedelta

    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1) + timedelta(seconds=index)
    body = {"device": device, "time": moment.isoformat(),
            "readings": {"air_temperature": 20.0 + (index % 10) if value is None else value}}
    return f"vuonso/devices/{device}/up", json.dumps(body).encode()
