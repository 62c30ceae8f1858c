"""`vuonso demo` as a user runs it: seeds, starts its children, and stops exactly those."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.mqtt import count_readings, wait_until
from tests.support.services import REPO, Broker, free_port

CHILDREN = {"ingest", "api", "simulator"}


class Demo:
    """`python -m vuonso demo` in a subprocess, its output in files under `folder`."""

    def __init__(self, database_url: str, broker: Broker, folder: Path) -> None:
        self.port = free_port()
        self.stdout = folder / "demo.out"
        self.stderr = folder / "demo.err"
        env = {**os.environ, "DATABASE_URL": database_url, "MQTT_URL": broker.url,
               "API_PORT": str(self.port), "MQTT_CLIENT_ID": f"demo-{uuid.uuid4().hex[:8]}",
               "LOG_LEVEL": "INFO", "PYTHONPATH": str(REPO / "src")}
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vuonso", "demo", "--backfill-days", "0.05", "--rate", "5",
                 "--stop-timeout", "15"],
                env=env, stdout=out, stderr=err)

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8")

    def children(self) -> dict[str, int]:
        found = re.findall(r"started (\w+) \(pid (\d+)\)", self.stderr.read_text(encoding="utf-8"))
        return {name: int(pid) for name, pid in found}

    def wait_ready(self, timeout: float = 60.0) -> None:
        ready = wait_until(lambda: "/plots/" in self.output() or self.process.poll() is not None,
                           timeout=timeout)
        assert ready and self.process.poll() is None, self.log()

    def log(self) -> str:
        return f"stdout:\n{self.output()}\nstderr:\n{self.stderr.read_text(encoding='utf-8')[-4000:]}"

    def clean_up(self) -> None:
        """Stop the demo if a check failed first, then kill any child it left behind."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in self.children().values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture()
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process the demo did not start; it must survive the demo's shutdown."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield process
    process.kill()
    process.wait()


def test_demo_runs_and_stops_its_children(db: psycopg.Connection, database_url: str, broker: Broker,
                                          tmp_path: Path, bystander: subprocess.Popen[bytes]) -> None:
    demo = Demo(database_url, broker, tmp_path)
    try:
        demo.wait_ready()
        output = demo.output()
        assert "Trang lô cho điện thoại" in output
        assert f"http://127.0.0.1:{demo.port}/plots/" in output
        assert f"http://127.0.0.1:{demo.port}/health" in output
        assert f"http://127.0.0.1:{demo.port}/docs" in output
        for path in ("/\n", "/map\n", "/ogc\n", "/api/plots\n"):
            assert f"http://127.0.0.1:{demo.port}{path}" in output, path
        assert "mã ngẫu nhiên 1" in output
        assert "hạt giống" not in output
        assert "dead letter" in output
        assert httpx.get(f"http://127.0.0.1:{demo.port}/health", timeout=10).status_code in (200, 503)
        # The backfill travels through the broker and the ingest worker into the database.
        assert wait_until(lambda: count_readings(database_url) > 0, timeout=90), demo.log()
        children = demo.children()
        assert set(children) == CHILDREN, demo.log()
        assert all(_alive(pid) for pid in children.values())

        demo.process.send_signal(signal.SIGINT)
        assert demo.process.wait(timeout=60) == 0, demo.log()
        leftovers = [name for name, pid in demo.children().items() if _alive(pid)]
    finally:
        demo.clean_up()

    assert leftovers == [], demo.log()
    assert bystander.poll() is None
    assert "Đã dừng mọi tiến trình của demo." in demo.output()
    row = db.execute("SELECT count(*) FROM gis.plots").fetchone()
    assert row == (200,)


def test_demo_stops_children_on_sighup(db: psycopg.Connection, database_url: str, broker: Broker,
                                      tmp_path: Path) -> None:
    demo = Demo(database_url, broker, tmp_path)
    try:
        demo.wait_ready()
        children = demo.children()
        assert set(children) == CHILDREN, demo.log()

        demo.process.send_signal(signal.SIGHUP)
        assert demo.process.wait(timeout=60) == 0, demo.log()
        leftovers = [name for name, pid in children.items() if _alive(pid)]
    finally:
        demo.clean_up()

    assert leftovers == [], demo.log()
    log = demo.stderr.read_text(encoding="utf-8")
    # uvicorn ends by the signal; the ingest worker and the simulator catch it and exit with 0.
    assert f"api (pid {children['api']}) stopped by SIGTERM" in log, demo.log()
    assert f"ingest (pid {children['ingest']}) exited with status 0" in log, demo.log()
    assert "status -15" not in log


def test_demo_stops_all_when_a_child_dies(db: psycopg.Connection, database_url: str, broker: Broker,
                                          tmp_path: Path) -> None:
    demo = Demo(database_url, broker, tmp_path)
    try:
        demo.wait_ready()
        children = demo.children()
        os.kill(children["api"], signal.SIGKILL)

        assert demo.process.wait(timeout=60) == 1, demo.log()
        leftovers = [name for name, pid in children.items() if _alive(pid)]
    finally:
        demo.clean_up()

    assert leftovers == [], demo.log()
    assert f"Tiến trình api (PID {children['api']})" in demo.output()
    assert f"api (pid {children['api']}) was killed by SIGKILL" in demo.stderr.read_text(encoding="utf-8")
