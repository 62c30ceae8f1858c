"""MQTT messages of simulated stations: native JSON (single and batch), SenML packs, LoRaWAN
envelopes, and deliberately malformed variants for exercising dead letters.

Native JSON: {"device": "st-0001", "time": "2026-12-04T05:00:00+07:00", "readings": {...}}, or
{"device", "records": [{"time", "readings"}, ...]} for uploads buffered during an outage.
SenML: a pack whose base name is urn:dev:vuonso:{device_id}: and whose times are epoch seconds.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from vuonso.simulators.corps import StationSpec
from vuonso.simulators.lorawan import EnvelopeBuilder
from vuonso.simulators.stations import NATIVE_METRICS, Sample

# SenML unit of each native metric; fractions ("/") for the percentages that are not humidity.
SENML_UNITS = {
    "air_temperature": "Cel",
    "relative_humidity": "%RH",
    "soil_moisture_20cm": "/",
    "soil_moisture_50cm": "/",
    "soil_temperature": "Cel",
    "rainfall": "mm",
    "leaf_wetness": "/",
    "battery": "V",
}
MALFORMED_KINDS = {
    "json": ("truncated", "not_finite", "wrong_type", "unknown_device", "missing_offset"),
    "senml": ("truncated", "not_finite", "wrong_type", "unknown_device"),
    "chirpstack": ("truncated", "unknown_device", "short_payload"),
    "tts": ("truncated", "unknown_device", "short_payload"),
}
UNKNOWN_DEVICE_ID = "st-9{:03d}"  # the demo corps numbers its stations from st-0001 to st-0400
UNKNOWN_DEV_EUI = "ffffff00000{:05x}"


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message and what it carries; `malformed` names the defect, None when valid."""

    topic: str
    payload: bytes
    device_id: str
    records: int  # reports in the message: 1, or more for a batch or a multi-record pack
    malformed: str | None = None


def _dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _native_readings(sample: Sample) -> dict[str, float]:
    return {name: sample.values[name] for name in NATIVE_METRICS}


def native_json(spec: StationSpec, samples: Sequence[Sample]) -> Message:
    """Build a single report, or a batch of records when more than one sample is given."""
    if len(samples) == 1:
        document: dict[str, Any] = {"device": spec.device_id, "time": _iso(samples[0].time),
                                    "readings": _native_readings(samples[0])}
    else:
        document = {"device": spec.device_id, "records": [
            {"time": _iso(sample.time), "readings": _native_readings(sample)} for sample in samples
        ]}
    return Message(spec.topic, _dumps(document), spec.device_id, len(samples))


def senml_pack(spec: StationSpec, samples: Sequence[Sample]) -> Message:
    """Build one pack with base name and base time on the first record and relative times after."""
    base_time = round(samples[0].time.timestamp(), 3)
    pack: list[dict[str, Any]] = []
    for sample in samples:
        offset = round(sample.time.timestamp() - base_time, 3)
        for name in NATIVE_METRICS:
            unit = SENML_UNITS[name]
            value: Any = sample.values[name]
            if isinstance(value, float | int) and not isinstance(value, bool):
                value = round(value / 100 if unit == "/" else value, 5)
            record: dict[str, Any] = {"n": name, "u": unit, "v": value}
            if offset:
                record["t"] = offset
            pack.append(record)
    pack[0] = {"bn": f"urn:dev:vuonso:{spec.device_id}:", "bt": base_time, **pack[0]}
    return Message(spec.topic, _dumps(pack), spec.device_id, len(samples))


def lorawan_uplink(spec: StationSpec, sample: Sample, builder: EnvelopeBuilder) -> Message:
    return Message(spec.topic, _dumps(builder.envelope(spec, sample)), spec.device_id, 1)


def station_message(spec: StationSpec, samples: Sequence[Sample], builder: EnvelopeBuilder) -> Message:
    """Build the message a station sends for these samples in its format (LoRaWAN: last sample)."""
    if spec.transport == "json":
        return native_json(spec, samples)
    if spec.transport == "senml":
        return senml_pack(spec, samples)
    return lorawan_uplink(spec, samples[-1], builder)


def _truncate(payload: bytes, rng: random.Random) -> bytes:
    return payload[: rng.randint(1, max(1, len(payload) // 2))]


def _unknown_station(spec: StationSpec, rng: random.Random) -> StationSpec:
    number = rng.randint(0, 999)
    dev_eui = UNKNOWN_DEV_EUI.format(number) if spec.dev_eui else None
    return replace(spec, device_id=UNKNOWN_DEVICE_ID.format(number), dev_eui=dev_eui)


def malformed_message(spec: StationSpec, sample: Sample, builder: EnvelopeBuilder,
                      rng: random.Random) -> Message:
    """Build a message with one defect chosen at random.

    The ingest rejects the whole message for truncated JSON, an unknown device, a payload too short
    for the codec or a time without offset. It rejects only the affected reading for a non-finite
    value or a wrong type.
    """
    kind = rng.choice(MALFORMED_KINDS[spec.transport])
    if kind == "unknown_device":
        stranger = _unknown_station(spec, rng)
        return replace(station_message(stranger, [sample], builder), malformed=kind)

    if spec.transport in ("json", "senml"):
        values = dict(sample.values)
        name = rng.choice(NATIVE_METRICS)
        if kind == "not_finite":
            values[name] = float("nan")
        elif kind == "wrong_type":
            values[name] = rng.choice(["khô", True, [1, 2]])  # type: ignore[assignment]
        bad_sample = replace(sample, values=values)
        valid = station_message(spec, [bad_sample], builder)
        payload = valid.payload
        if kind == "truncated":
            payload = _truncate(payload, rng)
        elif kind == "missing_offset":
            payload = payload.replace(_iso(sample.time).encode(),
                                      _iso(sample.time.replace(tzinfo=None)).encode())
        return replace(valid, payload=payload, malformed=kind)

    envelope = builder.envelope(spec, sample)
    if kind == "short_payload":  # one byte is shorter than any model's smallest reading
        holder = envelope if spec.transport == "chirpstack" else envelope["uplink_message"]
        key = "data" if spec.transport == "chirpstack" else "frm_payload"
        holder[key] = base64.b64encode(base64.b64decode(holder[key])[:1]).decode("ascii")
        return Message(spec.topic, _dumps(envelope), spec.device_id, 1, kind)
    return Message(spec.topic, _truncate(_dumps(envelope), rng), spec.device_id, 1, kind)
