"""`vuonso simulate seed | stations`: the demo corps and its simulated sensor stations."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from vuonso.core.db import connect
from vuonso.core.settings import load_settings
from vuonso.simulators.corps import build_corps

log = logging.getLogger(__name__)


@click.group("simulate")
def simulate_group() -> None:
    """Simulated data: the demo corps and its sensor stations."""


@simulate_group.command("seed")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the demo corps; the same seed always gives the same corps.")
def seed_command(seed: int) -> None:
    """Create the demo corps (3 units, 6 farms, 200 rubber plots, 400 stations); a second run
    creates nothing."""
    from vuonso.simulators.seed import seed_demo_corps

    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        report = seed_demo_corps(conn, build_corps(seed))
    click.echo(f"demo corps (seed {seed}): {report.plots_total} plots, {report.stations_total} stations; "
               f"created {report.companies_created} companies, {report.farms_created} farms, "
               f"{report.teams_created} teams, {report.plots_created} plots, "
               f"{report.stations_created} stations")


def _stop_on_signals(stop: threading.Event) -> None:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received, stopping the simulator", signum)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


@simulate_group.command("stations")
@click.option("--rate", type=click.FloatRange(min=0), default=None,
              help="Messages per second; 0 publishes as fast as the broker acknowledges. "
                   "Default: every station once a minute.")
@click.option("--count", type=click.IntRange(min=0), default=None,
              help="Stop after publishing this many live messages (0: backfill only).")
@click.option("--duration", type=click.FloatRange(min=0), default=None,
              help="Stop after this many seconds of live publishing.")
@click.option("--stations", "station_count", type=click.IntRange(min=1, max=400), default=None,
              help="Simulate only the first N stations of the demo corps. Default: all 400.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the demo corps and of the weather; use the seed given to `simulate seed`.")
@click.option("--malformed-rate", type=click.FloatRange(0, 1), default=0.002, show_default=True,
              help="Fraction of messages replaced by a malformed one (bad JSON, NaN, wrong type, "
                   "unknown device, missing UTC offset, short LoRaWAN payload).")
@click.option("--dropout-rate", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Fraction of reports lost without a trace.")
@click.option("--outage-rate", type=click.FloatRange(0, 1), default=0.02, show_default=True,
              help="Chance per station and day of a 1-6 hour outage; native stations upload the "
                   "missed reports in one batch afterwards.")
@click.option("--backfill-days", type=click.FloatRange(0, 31), default=0.0, show_default=True,
              help="First publish hourly reports of this many past days, as fast as acknowledged.")
@click.option("--max-inflight", type=click.IntRange(1, 20_000), default=1_000, show_default=True,
              help="Maximum unacknowledged QoS 1 messages at any time.")
@click.option("--wait-for-subscriber", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds to repeat the first message until a subscriber (the ingest worker) "
                   "receives it; 0 starts at once.")
def stations_command(rate: float | None, count: int | None, duration: float | None,
                     station_count: int | None, seed: int, malformed_rate: float, dropout_rate: float,
                     outage_rate: float, backfill_days: float, max_inflight: int,
                     wait_for_subscriber: float) -> None:
    """Publish readings of the demo corps' stations over MQTT (QoS 1) until stopped."""
    from vuonso.simulators.publisher import Publisher
    from vuonso.simulators.runner import StationSimulator, run_backfill, run_live

    settings = load_settings()
    stations = build_corps(seed).stations[:station_count]
    simulator = StationSimulator(stations, seed=seed, malformed_rate=malformed_rate,
                                 dropout_rate=dropout_rate, outage_rate_per_day=outage_rate)
    stop = threading.Event()
    _stop_on_signals(stop)

    publisher = Publisher(settings.mqtt_url.get_secret_value(), max_inflight=max_inflight,
                          client_id=f"vuonso-sim-{seed}-{os.getpid()}")
    with publisher:
        summary = simulator.summary
        if backfill_days > 0:
            summary = run_backfill(publisher, simulator, days=backfill_days, stop=stop,
                                   wait_for_subscriber_s=wait_for_subscriber)
            wait_for_subscriber = 0.0
        if count != 0 and not stop.is_set():
            live_rate = len(stations) / 60 if rate is None else rate
            log.info("publishing live readings of %d stations at %.2f messages/s", len(stations), live_rate)
            summary = run_live(publisher, simulator, rate=live_rate, count=count, duration_s=duration,
                               stop=stop, wait_for_subscriber_s=wait_for_subscriber)

    malformed = ", ".join(f"{kind} {number}" for kind, number in sorted(summary.malformed.items())) or "none"
    click.echo(f"published {summary.published}, acknowledged {summary.acknowledged} "
               f"({summary.no_subscribers} with no subscriber), rejected {summary.rejected}, "
               f"max in flight {summary.max_inflight_seen}; "
               f"malformed: {malformed}; batches {summary.batches}, dropped {summary.dropped}, "
               f"buffered {summary.buffered}")
