"""Station runs against the private broker: counts, pacing, backfill and the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from paho.mqtt.client import topic_matches_sub

from tests.simulators.conftest import CountingSubscriber
from tests.support.services import REPO, Broker
from vuonso.core.settings import DEFAULT_TOPIC_FORMATS
from vuonso.ingest.decoders import decode
from vuonso.simulators.corps import Corps, StationSpec
from vuonso.simulators.errors import SimulatorError
from vuonso.simulators.publisher import Publisher
from vuonso.simulators.runner import StationSimulator, report_times, run_backfill, run_live


def test_live_run_publishes_requested_count(broker: Broker, corps: Corps,
                                            subscriber: CountingSubscriber) -> None:
    simulator = StationSimulator(corps.stations, seed=1, malformed_rate=0.01)
    with Publisher(broker.url, max_inflight=100) as publisher:
        summary = run_live(publisher, simulator, rate=0, count=600)

    assert summary.published == 600
    assert summary.acknowledged == 600
    assert summary.max_inflight_seen <= 100
    assert subscriber.wait_for(600) == 600
    topics = {topic.split("/")[0] for topic, _ in subscriber.messages}
    assert topics == {"vuonso", "application", "v3"}


def test_live_run_keeps_the_rate(broker: Broker, corps: Corps, subscriber: CountingSubscriber) -> None:
    simulator = StationSimulator(corps.stations, seed=1, dropout_rate=0.0, outage_rate_per_day=0.0)
    with Publisher(broker.url) as publisher:
        summary = run_live(publisher, simulator, rate=50, duration_s=2.0)

    # 50 messages a second for 2 s: never more than 100 (plus the one due at the deadline), and
    # fewer only when the machine is too busy to keep up.
    assert 80 <= summary.published <= 101
    assert subscriber.wait_for(summary.published) == summary.published


def test_live_run_stops_on_request(broker: Broker, corps: Corps) -> None:
    simulator = StationSimulator(corps.stations, seed=1)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with Publisher(broker.url) as publisher:
        summary = run_live(publisher, simulator, rate=20, stop=stop)
    assert 3 <= summary.published <= 20


def test_backfill_publishes_every_station(broker: Broker, corps: Corps,
                                          subscriber: CountingSubscriber) -> None:
    stations = corps.stations[:40]
    simulator = StationSimulator(stations, seed=1)
    end = datetime(2025, 12, 10, 12, 0, tzinfo=UTC)
    expected = list(simulator.backfill(end - timedelta(hours=6), end))
    simulator = StationSimulator(stations, seed=1)

    with Publisher(broker.url) as publisher:
        summary = run_backfill(publisher, simulator, days=0.25, end=end)

    assert summary.published == len(expected)
    assert summary.acknowledged == len(expected)
    assert subscriber.wait_for(len(expected)) == len(expected)
    assert {payload for _, payload in subscriber.messages} == {m.payload for m in expected}


def _backfill_keys(stations: list[StationSpec], start: datetime,
                   end: datetime) -> set[tuple[str, str, datetime]]:
    """(device, metric, time) of every reading a backfill sends, as the ingest worker decodes them."""
    models = {station.device_id: station.model for station in stations}
    models.update({station.dev_eui: station.model for station in stations if station.dev_eui})
    keys = set()
    for message in StationSimulator(stations, seed=1).backfill(start, end):
        fmt = next(fmt for topic_filter, fmt in DEFAULT_TOPIC_FORMATS.items()
                   if topic_matches_sub(topic_filter, message.topic))
        decoded = decode(fmt, message.topic, message.payload, received_at=end, model_for=models.get)
        assert decoded.rejected == [], message.topic
        keys |= {(reading.device, reading.metric, reading.time) for reading in decoded.readings}
    return keys


def _mixed_stations(corps: Corps) -> list[StationSpec]:
    """Five stations of each transport."""
    return [station for transport in ("json", "senml", "chirpstack", "tts")
            for station in [s for s in corps.stations if s.transport == transport][:5]]


def test_backfill_rerun_repeats_device_times(corps: Corps) -> None:
    stations = _mixed_stations(corps)
    assert len(stations) == 20
    first_end = datetime(2025, 12, 10, 12, 50, 13, tzinfo=UTC)
    second_end = datetime(2025, 12, 10, 13, 0, 46, tzinfo=UTC)

    first = _backfill_keys(stations, first_end - timedelta(days=1), first_end)
    second = _backfill_keys(stations, second_end - timedelta(days=1), second_end)

    overlap_start = second_end - timedelta(days=1)
    first_in_overlap = {key for key in first if key[2] >= overlap_start}
    second_in_overlap = {key for key in second if key[2] < first_end}
    assert first_in_overlap
    assert second_in_overlap == first_in_overlap


def test_backfill_one_report_per_station_and_hour(corps: Corps) -> None:
    stations = _mixed_stations(corps)
    end = datetime(2025, 12, 10, 12, 50, 13, tzinfo=UTC)

    keys = _backfill_keys(stations, end - timedelta(hours=6), end)

    per_hour = Counter((device, metric, time.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
                       for device, metric, time in keys)
    assert set(per_hour.values()) == {1}


def test_report_times_fixed_offset_per_station() -> None:
    start = datetime(2025, 12, 10, 0, 20, tzinfo=UTC)
    end = start + timedelta(hours=5)

    first = list(report_times("st-0001", start, end, timedelta(hours=1)))
    second = list(report_times("st-0002", start, end, timedelta(hours=1)))
    later = list(report_times("st-0001", start + timedelta(minutes=7), end, timedelta(hours=1)))

    assert len(first) in (4, 5)
    assert all(start <= moment < end for moment in first)
    assert {(moment.minute, moment.second) for moment in first} == {(first[0].minute, first[0].second)}
    assert {(moment.minute, moment.second) for moment in second} != {(first[0].minute, first[0].second)}
    assert set(later) <= set(first)
    assert later[-1] == first[-1]


def test_report_times_reject_zero_step() -> None:
    with pytest.raises(ValueError, match="step must be positive"):
        list(report_times("st-0001", datetime(2025, 12, 10, tzinfo=UTC),
                          datetime(2025, 12, 11, tzinfo=UTC), timedelta(0)))


def _cli(broker: Broker, *arguments: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MQTT_URL": broker.url, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, "-m", "vuonso", "simulate", "stations", *arguments],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_publishes_count(broker: Broker, subscriber: CountingSubscriber) -> None:
    process = _cli(broker, "--count", "150", "--rate", "0", "--stations", "30", "--malformed-rate", "0")
    out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    assert re.search(r"published 150, acknowledged 150 ", out), out
    assert subscriber.wait_for(150) == 150
    devices = {json.loads(payload).get("device") for topic, payload in subscriber.messages
               if topic.startswith("vuonso/devices/")}
    assert devices <= {f"st-{n:04d}" for n in range(1, 31)}


def test_cli_stops_on_sigterm(broker: Broker) -> None:
    process = _cli(broker, "--rate", "20", "--stations", "10")
    time.sleep(3.0)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    match = re.search(r"published (\d+), acknowledged (\d+) ", out)
    assert match, out
    assert int(match[1]) > 0
    assert match[1] == match[2]


def test_live_run_waits_for_a_subscriber(corps: Corps) -> None:
    own = Broker()  # a broker of its own: no session of an earlier test subscribes there
    own.start()
    try:
        simulator = StationSimulator(corps.stations, seed=1, dropout_rate=0.0, outage_rate_per_day=0.0)
        with Publisher(own.url) as publisher:
            with pytest.raises(SimulatorError, match="no subscriber received"):
                run_live(publisher, simulator, rate=0, count=5, wait_for_subscriber_s=1.0)
            assert publisher.stats.no_subscribers >= 1

            late = CountingSubscriber(own)
            threading.Timer(0.5, late.start).start()
            summary = run_live(publisher, simulator, rate=0, count=5, wait_for_subscriber_s=15.0)
            assert late.wait_for(5) == 5
            late.stop()
        assert summary.published >= 5
    finally:
        own.close()
