"""The ingest worker against a real broker and database: exactly once, dead letters, replay."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.mqtt import count_readings, native_message, wait_until
from tests.support.services import Broker
from vuonso.core.settings import Settings
from vuonso.ingest.deadletters import list_dead_letters, replay
from vuonso.ingest.devices import move_device, register_device
from vuonso.ingest.worker import IngestWorker
from vuonso.simulators.publisher import Publisher

LON, LAT = 107.9, 13.9


@pytest.fixture()
def worker(settings: Settings, db: psycopg.Connection) -> Iterator[IngestWorker]:
    instance = IngestWorker(settings.model_copy(update={"ingest_batch_wait_ms": 20}))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    assert instance.subscriber.subscribed.wait(10), "worker did not subscribe at the broker"
    yield instance
    instance.stop()
    thread.join(timeout=10)


def publish(broker: Broker, messages: list[tuple[str, bytes]]) -> None:
    with Publisher(broker.url, client_id="test-publisher") as publisher:
        for topic, payload in messages:
            publisher.publish(topic, payload)
        publisher.wait_all_acked(timeout=30)


def test_worker_stores_each_reading_once(worker: IngestWorker, broker: Broker,
                                         db: psycopg.Connection, database_url: str) -> None:
    register_device(db, "st-0001", "vuonso-station", LON, LAT)
    messages = [native_message("st-0001", i) for i in range(200)]

    publish(broker, messages + messages[:50])

    assert wait_until(lambda: worker.stats.messages >= 250, timeout=30)
    assert count_readings(database_url) == 200


def test_repeated_key_keeps_first_value(worker: IngestWorker, broker: Broker,
                                        db: psycopg.Connection, database_url: str) -> None:
    register_device(db, "st-0002", "vuonso-station", LON, LAT)
    first = native_message("st-0002", 7, value=21.5)
    second = native_message("st-0002", 7, value=30.0)

    publish(broker, [first])
    assert wait_until(lambda: count_readings(database_url) == 1, timeout=20)
    publish(broker, [second])
    assert wait_until(lambda: worker.stats.messages >= 2, timeout=20)

    value = db.execute("SELECT value FROM ingest.readings WHERE device_id = 'st-0002'").fetchone()
    assert value == (21.5,)
    assert worker.stats.conflicting == 1


def test_bad_payloads_become_dead_letters(worker: IngestWorker, broker: Broker,
                                          db: psycopg.Connection, database_url: str,
                                          settings: Settings) -> None:
    register_device(db, "st-0003", "vuonso-station", LON, LAT)
    good = [native_message("st-0003", i) for i in range(10)]
    topic = "vuonso/devices/st-0003/up"
    bad = [
        (topic, b'{"device": "st-0003", "time": "2026-12-04T05:00:00+07:00", "readi'),
        (topic, json.dumps({"device": "st-0003", "time": 12, "readings": {}}).encode()),
        (topic, b'{"device": "st-0003", "time": "2026-12-04T05:00:00+07:00",'
                b' "readings": {"air_temperature": NaN}}'),
        ("vuonso/devices/st-9999/up", native_message("st-9999", 1)[1]),
        (topic, b"{" + b" " * (settings.ingest_max_payload_bytes + 10) + b"}"),
    ]

    publish(broker, good[:5] + bad + good[5:])

    assert wait_until(lambda: worker.stats.messages >= 15, timeout=30)
    assert count_readings(database_url) == 10
    letters = list_dead_letters(db, limit=100)
    reasons = {letter["reason_code"] for letter in letters}
    assert len(letters) == 5
    assert "unknown_device" in reasons
    assert "payload_too_large" in reasons
    assert "invalid_json" in reasons
    assert all(letter["reason"] for letter in letters)
    assert all(bytes(letter["payload"]) for letter in letters)


def test_replay_after_registering_device(worker: IngestWorker, broker: Broker,
                                         db: psycopg.Connection, database_url: str,
                                         settings: Settings) -> None:
    publish(broker, [native_message("st-0042", i) for i in range(3)])
    assert wait_until(lambda: worker.stats.dead_letters >= 3, timeout=20)
    assert count_readings(database_url) == 0

    register_device(db, "st-0042", "vuonso-station", LON, LAT)
    with db.transaction():
        results = replay(db, settings, reason_code="unknown_device")

    assert [r.still_rejected for r in results] == [False, False, False]
    assert count_readings(database_url) == 3
    assert list_dead_letters(db, reason_code="unknown_device") == []


def test_gps_fixes_over_mqtt_stored(worker: IngestWorker, broker: Broker,
                                    db: psycopg.Connection) -> None:
    fixes = [{"time": f"2026-12-04T05:{minute:02d}:00+07:00", "lat": 13.9 + minute / 1e4,
              "lon": 107.9, "accuracy_m": 5 if minute else 80} for minute in range(5)]
    good = ("vuonso/fixes/phone-07", json.dumps({"fixes": fixes}).encode())
    bad = ("vuonso/fixes/phone-07", b'{"time": "2026-12-04T05:00:00", "lat": 13.9}')

    publish(broker, [good, good, bad])

    assert wait_until(lambda: worker.stats.messages >= 3, timeout=20)
    stored = db.execute("SELECT count(*), count(*) FILTER (WHERE 'poor_accuracy' = ANY(flags))"
                        " FROM gis.fixes WHERE device_id = 'phone-07'").fetchone()
    assert stored == (5, 1)
    letters = list_dead_letters(db, limit=10)
    assert [letter["format"] for letter in letters] == ["fix"]


def test_moved_device_reassigned_with_history(db: psycopg.Connection) -> None:
    from shapely.geometry import box

    from vuonso.gis.plots import PlotFields, create_company, create_farm, create_plot

    farm = create_farm(db, create_company(db, "C72", "Đoàn KT-QP 72"), "NT1", "Nông trường 1")
    first = create_plot(db, farm, PlotFields("Lô 1", "rubber"), box(107.90, 13.90, 107.905, 13.905))
    second = create_plot(db, farm, PlotFields("Lô 2", "rubber"), box(107.91, 13.90, 107.915, 13.905))

    assert register_device(db, "st-move", "vuonso-station", 107.902, 13.902) == first
    assert move_device(db, "st-move", 107.912, 13.902) == second

    history = db.execute("SELECT plot_id, valid_to IS NULL FROM ingest.device_placements"
                         " WHERE device_id = 'st-move' ORDER BY valid_from, id").fetchall()
    assert history == [(first, False), (second, True)]
