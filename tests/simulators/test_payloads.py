"""Station messages as the ingest decoders read them: formats, batches, malformed variants."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from paho.mqtt.client import topic_matches_sub

from vuonso.core.settings import DEFAULT_TOPIC_FORMATS
from vuonso.ingest.decoders import decode
from vuonso.ingest.errors import DecodeError, UnknownDevice
from vuonso.ingest.model import DecodedMessage
from vuonso.simulators.corps import Corps
from vuonso.simulators.payloads import MALFORMED_KINDS, Message
from vuonso.simulators.runner import StationSimulator
from vuonso.simulators.stations import NATIVE_METRICS
from vuonso.simulators.weather import LOCAL_TZ

START = datetime(2025, 12, 3, 6, 0, tzinfo=LOCAL_TZ)


def _model_lookup(corps: Corps) -> Callable[[str], str | None]:
    models = {station.device_id: station.model for station in corps.stations}
    models.update({station.dev_eui: station.model for station in corps.stations if station.dev_eui})
    return models.get


def _decode(corps: Corps, message: Message) -> DecodedMessage:
    fmt = next(fmt for topic_filter, fmt in DEFAULT_TOPIC_FORMATS.items()
               if topic_matches_sub(topic_filter, message.topic))
    return decode(fmt, message.topic, message.payload, received_at=datetime.now(UTC),
                  model_for=_model_lookup(corps))


def _live_messages(simulator: StationSimulator, reports: int, step: timedelta) -> list[Message]:
    messages = []
    moment = START
    for _ in range(reports):
        message = simulator.next_message(moment)
        if message is not None:
            messages.append(message)
        moment += step
    return messages


def test_malformed_rate_zero_gives_only_valid_messages(corps: Corps) -> None:
    simulator = StationSimulator(corps.stations, seed=1, malformed_rate=0.0, dropout_rate=0.0,
                                 outage_rate_per_day=0.0)
    messages = _live_messages(simulator, 800, timedelta(seconds=3))

    assert len(messages) == 800
    assert all(message.malformed is None for message in messages)
    assert not simulator.summary.malformed
    known = {station.device_id for station in corps.stations}
    for message in messages:
        decoded = _decode(corps, message)
        assert decoded.rejected == [], (message.topic, decoded.rejected)
        assert decoded.readings, message.topic
        assert message.device_id in known


def test_malformed_rate_gives_some_of_each_kind(corps: Corps) -> None:
    simulator = StationSimulator(corps.stations, seed=1, malformed_rate=0.25, dropout_rate=0.0,
                                 outage_rate_per_day=0.0)
    messages = _live_messages(simulator, 1200, timedelta(seconds=3))
    malformed = [message for message in messages if message.malformed]

    assert 200 < len(malformed) < 400
    kinds = Counter(message.malformed for message in malformed)
    assert set(kinds) == {kind for kinds in MALFORMED_KINDS.values() for kind in kinds}
    assert sum(simulator.summary.malformed.values()) == len(malformed)


def test_malformed_messages_are_rejected(corps: Corps) -> None:
    simulator = StationSimulator(corps.stations, seed=2, malformed_rate=1.0, dropout_rate=0.0,
                                 outage_rate_per_day=0.0)
    registered = {station.device_id for station in corps.stations}
    registered |= {station.dev_eui for station in corps.stations if station.dev_eui}
    for message in _live_messages(simulator, 400, timedelta(seconds=3)):
        if message.malformed == "unknown_device":
            # Raw LoRaWAN bytes need the model, so an unknown DevEUI fails at once. Native
            # payloads decode, but they name a device that the registry does not know.
            try:
                devices = {reading.device for reading in _decode(corps, message).readings}
            except UnknownDevice:
                continue
            assert devices.isdisjoint(registered)
            continue
        try:
            decoded = _decode(corps, message)
        except DecodeError:
            continue
        assert decoded.rejected, (message.malformed, message.payload[:200])


def test_outage_uploads_a_batch_of_past_records(corps: Corps) -> None:
    native = [station for station in corps.stations if station.transport in ("json", "senml")][:6]
    simulator = StationSimulator(native, seed=1, dropout_rate=0.0, outage_rate_per_day=1.0)
    messages = _live_messages(simulator, 6 * 4 * 48, timedelta(minutes=15) / 6)
    batches = [message for message in messages if message.records > 1]

    assert batches, "no station came back from an outage"
    assert simulator.summary.buffered >= sum(message.records - 1 for message in batches)
    for message in batches:
        decoded = _decode(corps, message)
        times = sorted({reading.time for reading in decoded.readings})
        assert len(times) == message.records
        assert len(decoded.readings) == message.records * len(NATIVE_METRICS)
        assert times[0] < times[-1] - timedelta(minutes=14)


def test_native_json_shape(corps: Corps) -> None:
    station = next(s for s in corps.stations if s.transport == "json")
    simulator = StationSimulator([station], seed=1, dropout_rate=0.0, outage_rate_per_day=0.0)
    message = simulator.next_message(START)
    assert message is not None

    body = json.loads(message.payload)

    assert message.topic == f"vuonso/devices/{station.device_id}/up"
    assert body["device"] == station.device_id
    assert body["time"].endswith("+07:00")
    assert set(body["readings"]) == set(NATIVE_METRICS)


def test_senml_shape(corps: Corps) -> None:
    station = next(s for s in corps.stations if s.transport == "senml")
    simulator = StationSimulator([station], seed=1, dropout_rate=0.0, outage_rate_per_day=0.0)
    message = simulator.next_message(START)
    assert message is not None

    pack = json.loads(message.payload)

    assert message.topic == f"vuonso/senml/{station.device_id}"
    assert pack[0]["bn"] == f"urn:dev:vuonso:{station.device_id}:"
    assert pack[0]["bt"] == pytest.approx(START.timestamp(), abs=5)
    readings = {reading.metric: reading for reading in _decode(corps, message).readings}
    assert set(readings) == set(NATIVE_METRICS)
    assert 0 < readings["soil_moisture_20cm"].value < 100  # sent as a fraction, stored as %


def test_dropouts_lose_reports(corps: Corps) -> None:
    simulator = StationSimulator(corps.stations[:50], seed=1, dropout_rate=0.2, outage_rate_per_day=0.0)
    messages = _live_messages(simulator, 500, timedelta(seconds=3))
    assert 300 < len(messages) < 480
    assert simulator.summary.dropped == 500 - len(messages)


def test_backfill_covers_every_hour(corps: Corps) -> None:
    stations = [next(s for s in corps.stations if s.transport == transport)
                for transport in ("json", "senml", "chirpstack", "tts")]
    simulator = StationSimulator(stations, seed=1)
    end = datetime(2025, 12, 10, 12, 0, tzinfo=LOCAL_TZ)
    messages = list(simulator.backfill(end - timedelta(days=2), end))

    hours: Counter[str] = Counter()
    for message in messages:
        for reading in _decode(corps, message).readings:
            hours[reading.device] += reading.metric in ("battery", "battery_level")
    assert len(hours) == 4
    assert all(count == 48 for count in hours.values()), hours
    # Native stations send one batch per local day (three days here), LoRaWAN devices one
    # uplink per hour.
    for station in stations:
        sent = [m for m in messages if m.device_id == station.device_id]
        assert sum(m.records for m in sent) == 48
        assert len(sent) == (3 if station.transport in ("json", "senml") else 48), station.transport
