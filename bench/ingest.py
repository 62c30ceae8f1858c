"""Ingest throughput and latency against the ceiling of this broker and client.

In one run, the same publisher process (QoS 1, ~200-byte native JSON payloads with three readings
each) feeds:
  a. a subscriber that only counts messages: the ceiling of Mosquitto plus paho on this machine;
  b. the full ingest worker (decode, validate, COPY, commit, then acknowledge) into PostgreSQL.
It reports messages/s of both, rows/s of b, the ratio b/a (target >= 0.8), and the latency from
publish to committed row at a steady rate (default 5,000 messages/s).

Run: .venv/bin/python bench/ingest.py [--messages 60000] [--runs 3] [--rate 5000] [--seconds 10]
The last output line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from common import machine_facts, median, percentile_ms, print_result, say, temporary_database

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.services import Broker  # noqa: E402

from vuonso.core.settings import load_settings  # noqa: E402
from vuonso.ingest.devices import register_device  # noqa: E402
from vuonso.ingest.pipeline import Outcome  # noqa: E402
from vuonso.ingest.worker import IngestWorker  # noqa: E402

DEVICES = 100
TOPIC = "vuonso/devices/{device}/up"


# --- publisher: a separate process, so it does not share the GIL with the consumer -------------

def payload(index: int, moment: datetime) -> tuple[str, bytes]:
    device = f"bench-{index % DEVICES:04d}"
    body = {"device": device, "time": moment.isoformat(timespec="microseconds"),
            "readings": {"air_temperature": 24.0 + index % 50 / 10,
                         "relative_humidity": 80.0 + index % 20 / 10,
                         "soil_moisture_20cm": 31.0 + index % 30 / 10}}
    return TOPIC.format(device=device), json.dumps(body).encode()


def publish_main(url: str, count: int, rate: float) -> None:
    """Publish `count` messages (at `rate` per second, or as fast as possible when 0)."""
    from vuonso.simulators.publisher import Publisher

    base = datetime.now(UTC) - timedelta(hours=2)
    prepared = [payload(i, base + timedelta(microseconds=i * 37)) for i in range(count)] \
        if rate == 0 else []
    with Publisher(url, client_id=f"bench-publisher-{time.monotonic_ns()}") as publisher:
        started = time.monotonic()
        for index in range(count):
            if rate:
                ahead = index / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
                # The device time is the publish time, so commit time minus it is the latency.
                topic, body = payload(index, datetime.now(UTC))
            else:
                topic, body = prepared[index]
            publisher.publish(topic, body)
        publisher.wait_all_acked(timeout=300)
        stats = publisher.stats
    print(json.dumps({"published": stats.published, "acknowledged": stats.acknowledged,
                      "no_subscribers": stats.no_subscribers,
                      "seconds": time.monotonic() - started}), flush=True)


def run_publisher(url: str, count: int, rate: float = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--publish", url, str(count), str(rate)],
                            stdout=subprocess.PIPE, text=True)


# --- a. the counting subscriber ----------------------------------------------------------------

def measure_ceiling(broker: Broker, count: int) -> float:
    """Messages/s received by a QoS 1 subscriber that does nothing but count."""
    received = 0
    first = last = 0.0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        now = time.perf_counter()
        if received == 0:
            first = now
        received += 1
        last = now
        if received >= count:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-counter-{time.monotonic_ns()}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.subscribe("vuonso/devices/+/up", qos=1)
    client.loop_start()
    subscribed.wait(10)
    publisher = run_publisher(broker.url, count)
    finished = done.wait(300)
    publisher.wait(timeout=300)
    client.disconnect()
    client.loop_stop()
    if not finished:
        raise RuntimeError(f"counting subscriber got {received} of {count} messages")
    return count / (last - first)


# --- b. the full ingest ------------------------------------------------------------------------

class CommitClock:
    """Records, per committed batch, the commit time and the device times of its messages."""

    def __init__(self) -> None:
        self.messages = 0
        self.rows = 0
        self.first_received: datetime | None = None
        self.last_commit = datetime.now(UTC)
        self.latencies: list[float] = []
        self.record_latency = False
        self.done = threading.Event()
        self.target = 0

    def on_batch(self, outcome: Outcome) -> None:
        wall = datetime.now(UTC)
        if self.first_received is None and outcome.rows:
            self.first_received = min(row.received_at for row in outcome.rows)
        self.last_commit = wall
        self.rows += len(outcome.rows)
        self.messages += len(outcome.stored_per_message)
        if self.record_latency:
            times = {(row.device_id, row.time) for row in outcome.rows}
            self.latencies.extend((wall - moment).total_seconds() for _, moment in times)
        if self.messages >= self.target:
            self.done.set()


def start_worker(url: str, broker: Broker, clock: CommitClock) -> tuple[IngestWorker, threading.Thread]:
    settings = load_settings(database_url=url, mqtt_url=broker.url,
                             mqtt_client_id=f"bench-worker-{time.monotonic_ns()}")
    worker = IngestWorker(settings, on_batch=clock.on_batch)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    if not worker.subscriber.subscribed.wait(10):
        raise RuntimeError("ingest worker did not subscribe")
    return worker, thread


def measure_ingest(url: str, broker: Broker, count: int) -> tuple[float, float]:
    """Messages/s and rows/s from the first received message to the last committed row."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE ingest.readings")
    clock = CommitClock()
    clock.target = count
    worker, thread = start_worker(url, broker, clock)
    publisher = run_publisher(broker.url, count)
    finished = clock.done.wait(600)
    publisher.wait(timeout=300)
    worker.stop()
    thread.join(timeout=30)
    if not finished:
        raise RuntimeError(f"ingest stored {clock.messages} of {count} messages")
    assert clock.first_received is not None
    seconds = (clock.last_commit - clock.first_received).total_seconds()
    return count / seconds, clock.rows / seconds


def measure_latency(url: str, broker: Broker, rate: float, seconds: float) -> dict[str, float]:
    """Publish-to-commit latency at a steady rate; the first second is left out as warm-up."""
    clock = CommitClock()
    count = int(rate * seconds)
    clock.target = count
    worker, thread = start_worker(url, broker, clock)
    publisher = run_publisher(broker.url, count, rate)
    time.sleep(1.0)
    clock.record_latency = True
    finished = clock.done.wait(seconds * 10 + 60)
    output = publisher.communicate(timeout=300)[0]
    worker.stop()
    thread.join(timeout=30)
    if not finished:
        raise RuntimeError(f"ingest stored {clock.messages} of {count} messages at {rate}/s")
    published = json.loads(output.strip().splitlines()[-1])
    return {"p50_ms": percentile_ms(clock.latencies, 50), "p99_ms": percentile_ms(clock.latencies, 99),
            "achieved_rate_per_s": published["published"] / published["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=60_000, help="messages per throughput run")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs; the median is reported")
    parser.add_argument("--rate", type=float, default=5_000, help="steady rate of the latency run, msg/s")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency run, s")
    parser.add_argument("--publish", nargs=3, metavar=("URL", "COUNT", "RATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish_main(args.publish[0], int(args.publish[1]), float(args.publish[2]))
        return

    broker = Broker()
    broker.start()
    try:
        with temporary_database("vuonso_bench_ingest") as url:
            with psycopg.connect(url, autocommit=True) as conn:
                for index in range(DEVICES):
                    register_device(conn, f"bench-{index:04d}", "vuonso-station", 107.9, 13.9)
                facts = machine_facts(conn)
            ceilings, ingests, rows = [], [], []
            for run in range(args.runs):
                ceilings.append(measure_ceiling(broker, args.messages))
                message_rate, row_rate = measure_ingest(url, broker, args.messages)
                ingests.append(message_rate)
                rows.append(row_rate)
                say(f"run {run + 1}: ceiling {ceilings[-1]:,.0f} msg/s, ingest {message_rate:,.0f} "
                    f"msg/s ({row_rate:,.0f} rows/s), ratio {message_rate / ceilings[-1]:.2f}")
            latency = measure_latency(url, broker, args.rate, args.seconds)
            say(f"latency at {latency['achieved_rate_per_s']:,.0f} msg/s: p50 "
                f"{latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms")
    finally:
        broker.close()

    ceiling, ingest = median(ceilings), median(ingests)
    print_result({
        "machine": facts, "messages_per_run": args.messages, "runs": args.runs,
        "ceiling_msgs_per_s": round(ceiling), "ceiling_rows_per_s": round(ceiling),
        "ingest_msgs_per_s": round(ingest), "ingest_rows_per_s": round(median(rows)),
        "ratio_ingest_to_ceiling": round(ingest / ceiling, 3),
        "ratio_per_run": [round(i / c, 3) for i, c in zip(ingests, ceilings, strict=True)],
        "latency_rate_per_s": args.rate,
        "latency_achieved_rate_per_s": round(latency["achieved_rate_per_s"]),
        "latency_p50_ms": round(latency["p50_ms"], 1), "latency_p99_ms": round(latency["p99_ms"], 1),
    })


if __name__ == "__main__":
    main()
