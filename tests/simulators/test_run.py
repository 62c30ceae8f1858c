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
from datetime import UTC, datetime, timedelta

import pytest

from tests.simulators.conftest import CountingSubscriber
from tests.support.services import REPO, Broker
from vuonso.simulators.corps import Corps
from vuonso.simulators.errors import SimulatorError
from vuonso.simulators.publisher import Publisher
from vuonso.simulators.runner import StationSimulator, run_backfill, run_live


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
