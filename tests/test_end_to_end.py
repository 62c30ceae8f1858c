"""End to end: simulated stations publish to a real broker, the ingest worker stores their
readings, and the HTTP API serves them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.support.mqtt import count_readings, wait_until
from vuonso.api.app import create_app
from vuonso.core.settings import Settings
from vuonso.ingest.worker import IngestWorker
from vuonso.simulators.corps import build_corps
from vuonso.simulators.publisher import Publisher
from vuonso.simulators.runner import StationSimulator, run_live
from vuonso.simulators.seed import seed_demo_corps

MESSAGES = 400


@pytest.fixture()
def worker(settings: Settings, db: psycopg.Connection) -> Iterator[IngestWorker]:
    instance = IngestWorker(settings)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    assert instance.subscriber.subscribed.wait(10), "worker did not subscribe at the broker"
    yield instance
    instance.stop()
    thread.join(timeout=10)


def test_simulator_to_api(worker: IngestWorker, settings: Settings, db: psycopg.Connection,
                          database_url: str) -> None:
    corps = build_corps(1)
    seed_demo_corps(db, corps)
    simulator = StationSimulator(corps.stations, seed=1)

    with Publisher(settings.mqtt_url.get_secret_value(), client_id="e2e-simulator") as publisher:
        summary = run_live(publisher, simulator, rate=0, count=MESSAGES)

    assert summary.published == MESSAGES
    assert wait_until(lambda: worker.stats.messages >= MESSAGES, timeout=60)
    stored = count_readings(database_url)
    assert stored > MESSAGES  # every station message carries several readings
    assert worker.stats.dead_letters == 0

    plot_id = db.execute(
        "SELECT plot_id FROM ingest.readings GROUP BY plot_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    assert plot_id is not None and plot_id[0] is not None
    with TestClient(create_app(settings)) as client:
        latest = client.get(f"/api/plots/{plot_id[0]}/readings/latest")
        page = client.get(f"/plots/{plot_id[0]}")

    assert latest.status_code == 200
    items = latest.json()["readings"]
    metrics = {item["metric"] for item in items}
    assert "air_temperature" in metrics
    assert all(item["time"].endswith("+07:00") for item in items)
    assert page.status_code == 200
    assert "<svg" in page.text
