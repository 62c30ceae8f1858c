"""The station simulator: which station reports when, outages with buffered uploads, dropouts,
malformed messages, the backfill of past days, and the paced publishing loop.

Message generation (`StationSimulator`) is separate from publishing (`run_live`, `run_backfill`),
so tests can inspect messages without a broker.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vuonso.simulators.corps import StationSpec
from vuonso.simulators.errors import PublishTimeout, SimulatorError
from vuonso.simulators.lorawan import EnvelopeBuilder
from vuonso.simulators.payloads import Message, malformed_message, station_message
from vuonso.simulators.publisher import Publisher
from vuonso.simulators.stations import Sample, StationState, report_offset
from vuonso.simulators.weather import LOCAL_TZ, Climate

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MAX_BUFFERED = 288  # records a native station keeps during an outage: three days at 15 minutes
NATIVE_TRANSPORTS = ("json", "senml")
PROGRESS_EVERY_S = 10.0


@dataclass(slots=True)
class RunSummary:
    """Counts of the messages a simulator generated, and the publisher's counters since it was
    created."""

    published: int = 0
    acknowledged: int = 0
    rejected: int = 0
    max_inflight_seen: int = 0
    no_subscribers: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # reports lost without a trace (radio loss, sensor glitch)
    buffered: int = 0  # reports held back during an outage and sent later in a batch
    batches: int = 0  # messages carrying more than one report
    elapsed_s: float = 0.0


class StationSimulator:
    """Message generator for a set of stations, deterministic for a seed.

    Native stations (JSON, SenML) buffer their reports during an outage and upload them in one
    batch when back; LoRaWAN devices have no buffer and lose them. `malformed_rate` is the chance
    that a message is replaced by a malformed one, `dropout_rate` the chance a report is lost, and
    `outage_rate_per_day` the chance a station has an outage of 1 to 6 hours on a given day.
    """

    def __init__(self, stations: Sequence[StationSpec], *, seed: int, malformed_rate: float = 0.0,
                 dropout_rate: float = 0.01, outage_rate_per_day: float = 0.02) -> None:
        for name, rate in (("malformed_rate", malformed_rate), ("dropout_rate", dropout_rate),
                           ("outage_rate_per_day", outage_rate_per_day)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if not stations:
            raise ValueError("no stations to simulate")
        self.stations = list(stations)
        self.seed = seed
        self.malformed_rate = malformed_rate
        self.dropout_rate = dropout_rate
        self.outage_rate_per_day = outage_rate_per_day
        self.climate = Climate(seed)
        self.states = {spec.device_id: StationState(spec, self.climate, seed) for spec in self.stations}
        self.builder = EnvelopeBuilder(seed)
        self.rng = random.Random(f"{seed}:events")
        self.buffers: dict[str, list[Sample]] = {}
        self.summary = RunSummary()
        self._next = 0

    def in_outage(self, spec: StationSpec, moment: datetime) -> bool:
        """Return whether the station is cut off at `moment`; an outage may start the day before."""
        local = moment.astimezone(LOCAL_TZ)
        for day in (local.date(), local.date() - timedelta(days=1)):
            rng = random.Random(f"{self.seed}:outage:{spec.device_id}:{day.toordinal()}")
            if rng.random() >= self.outage_rate_per_day:
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
            start = midnight + timedelta(hours=rng.uniform(0, 24))
            if start <= local < start + timedelta(hours=rng.uniform(1, 6)):
                return True
        return False

    def report(self, spec: StationSpec, moment: datetime) -> Message | None:
        """Advance the station to `moment` and return its message, or None when it sends nothing."""
        sample = self.states[spec.device_id].advance(moment)
        native = spec.transport in NATIVE_TRANSPORTS
        if self.in_outage(spec, moment):
            if native:
                buffer = self.buffers.setdefault(spec.device_id, [])
                buffer.append(sample)
                del buffer[:-MAX_BUFFERED]
                self.summary.buffered += 1
            else:
                self.summary.dropped += 1
            return None
        if self.rng.random() < self.dropout_rate:
            self.summary.dropped += 1
            return None

        if self.malformed_rate and self.rng.random() < self.malformed_rate:
            message = malformed_message(spec, sample, self.builder, self.rng)
            self.summary.malformed[message.malformed or "unknown"] += 1
            return message
        samples = [*self.buffers.pop(spec.device_id, []), sample] if native else [sample]
        message = station_message(spec, samples, self.builder)
        if message.records > 1:
            self.summary.batches += 1
        return message

    def next_message(self, moment: datetime) -> Message | None:
        """Let the next station in round-robin order report at `moment`."""
        spec = self.stations[self._next]
        self._next = (self._next + 1) % len(self.stations)
        return self.report(spec, moment)

    def backfill(self, start: datetime, end: datetime,
                 step: timedelta = timedelta(hours=1)) -> Iterator[Message]:
        """Past reports from `start` up to `end` at the times of `report_times`: one batch per
        station and local day for native stations, one uplink per report for LoRaWAN devices.
        Outages, dropouts and malformed messages are left out so that charts of the past days are
        complete."""
        for spec in self.stations:
            state = self.states[spec.device_id]
            day: list[Sample] = []
            for moment in report_times(spec.device_id, start, end, step):
                sample = state.advance(moment)
                if spec.transport not in NATIVE_TRANSPORTS:
                    yield station_message(spec, [sample], self.builder)
                else:
                    if day and day[-1].time.date() != sample.time.date():
                        yield station_message(spec, day, self.builder)
                        day = []
                    day.append(sample)
            if day:
                yield station_message(spec, day, self.builder)


def report_times(device_id: str, start: datetime, end: datetime,
                 step: timedelta) -> Iterator[datetime]:
    """Yield a station's report times in [start, end): whole multiples of `step` since the Unix
    epoch plus the station's `report_offset`.

    The times depend only on the station and the step, never on when a run starts, so a second
    backfill over the same hours repeats the device times of the first, and the ingest worker
    stores nothing new for them. With a step of one hour each report falls at a fixed minute
    and second of every hour.
    """
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    offset = report_offset(device_id, step)
    # Ceiling division: the first grid time at or after `start`.
    first = -((EPOCH + offset - start) // step)
    moment = EPOCH + first * step + offset
    while moment < end:
        yield moment
        moment += step


def _finish(publisher: Publisher, summary: RunSummary, started: float, flush_timeout_s: float) -> RunSummary:
    try:
        publisher.wait_all_acked(flush_timeout_s)
    except PublishTimeout as exc:
        log.warning("%s", exc.message)
    stats = publisher.stats
    summary.published = stats.published
    summary.acknowledged = stats.acknowledged
    summary.rejected = stats.rejected
    summary.max_inflight_seen = stats.max_inflight_seen
    summary.no_subscribers = stats.no_subscribers
    summary.elapsed_s = time.monotonic() - started
    return summary


def _publish(publisher: Publisher, message: Message, wait_for_subscriber_s: float,
             stop: threading.Event | None) -> None:
    """Publish a message; with a wait, first repeat it until a subscriber receives it."""
    if wait_for_subscriber_s <= 0:
        publisher.publish(message.topic, message.payload)
        return
    log.info("waiting up to %.0f s for a subscriber on %s", wait_for_subscriber_s, message.topic)
    delivered = publisher.publish_when_subscribed(message.topic, message.payload,
                                                  timeout_s=wait_for_subscriber_s, stop=stop)
    if not delivered and not (stop is not None and stop.is_set()):
        raise SimulatorError(f"no subscriber received the first message on {message.topic} within "
                             f"{wait_for_subscriber_s:g} s; start the ingest worker (`vuonso ingest run`)")


def run_backfill(publisher: Publisher, simulator: StationSimulator, *, days: float,
                 end: datetime | None = None, step: timedelta = timedelta(hours=1),
                 stop: threading.Event | None = None, flush_timeout_s: float = 60.0,
                 wait_for_subscriber_s: float = 0.0) -> RunSummary:
    """Publish `days` of past reports up to `end` (default now) as fast as the broker acknowledges.

    With `wait_for_subscriber_s`, the first message is repeated until a subscriber receives it.
    """
    finish = end or datetime.now(UTC)
    start = finish - timedelta(days=days)
    started = time.monotonic()
    count = 0
    log.info("backfill of %g days for %d stations from %s", days, len(simulator.stations),
             start.isoformat())
    for message in simulator.backfill(start, finish, step):
        if stop is not None and stop.is_set():
            break
        _publish(publisher, message, wait_for_subscriber_s if count == 0 else 0.0, stop)
        count += 1
    log.info("backfill published %d messages in %.1f s", count, time.monotonic() - started)
    return _finish(publisher, simulator.summary, started, flush_timeout_s)


def run_live(publisher: Publisher, simulator: StationSimulator, *, rate: float, count: int | None = None,
             duration_s: float | None = None, stop: threading.Event | None = None,
             flush_timeout_s: float = 30.0, wait_for_subscriber_s: float = 0.0) -> RunSummary:
    """Publish live reports at `rate` messages a second (0: as fast as acknowledged).

    The run ends when `count` messages are published, `duration_s` has passed or `stop` is set.
    Device times are the current time.

    NOTE: live reports do not use `report_times`, so when a later backfill covers hours of an
    earlier live run, those hours contain both runs' readings (and their rainfall twice).

    With `wait_for_subscriber_s`, the first message is repeated until a subscriber receives it.
    """
    if rate < 0:
        raise ValueError(f"rate must be 0 or more messages a second, got {rate}")
    stop = stop or threading.Event()
    started = time.monotonic()
    deadline = started + duration_s if duration_s is not None else None
    pace_origin = started
    published = 0
    slot = 0
    next_progress = started + PROGRESS_EVERY_S
    while not stop.is_set():
        if count is not None and published >= count:
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        if rate > 0:
            due = pace_origin + slot / rate
            if due > now:
                # Sleep in short steps so that a stop request or the deadline is noticed soon.
                wait = min(due - now, 0.5, (deadline - now) if deadline is not None else 0.5)
                stop.wait(max(wait, 0.0))
                continue
        slot += 1
        message = simulator.next_message(datetime.now(UTC))
        if message is None:
            continue
        if published == 0 and wait_for_subscriber_s > 0:
            _publish(publisher, message, wait_for_subscriber_s, stop)
            # Pace from here, not in a burst that makes up for the time spent waiting.
            pace_origin = time.monotonic() - slot / rate if rate > 0 else pace_origin
        else:
            publisher.publish(message.topic, message.payload)
        published += 1
        if now >= next_progress:
            stats = publisher.stats
            log.info("published %d messages, %d acknowledged, %d in flight", stats.published,
                     stats.acknowledged, stats.inflight)
            next_progress = now + PROGRESS_EVERY_S
    return _finish(publisher, simulator.summary, started, flush_timeout_s)
