"""Readings of a LoRaWAN uplink, whichever network server delivered it.

Sources, in order:
1. the object the network server decoded, read with the codec of the device's model, or by
   metric names when the model has no codec or is not known;
2. a TTN normalised payload;
3. the raw FRMPayload, decoded with the model's codec.

A source that yields no measurement falls through to the next. This covers a ChirpStack device
profile that decodes with a codec written for another device, whose object then names none of
the model's fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vuonso.ingest.codecs import MODELS, Codec, Measurement
from vuonso.ingest.decoders.common import Collector, parse_time
from vuonso.ingest.errors import DecodeError, UnknownDevice
from vuonso.ingest.metrics import ALIASES, METRICS, resolve_name
from vuonso.ingest.model import DecodedMessage

ModelLookup = Callable[[str], str | None]


@dataclass(slots=True)
class Uplink:
    """The parts of an uplink event that carry readings.

    `device` is the DevEUI in 16 lowercase hex digits, or the network server's device id when
    the message has no DevEUI. `identifiers` are tried in order to find the device's model.
    """

    device: str
    time: datetime
    port: int | None = None
    data: bytes | None = None
    decoded: Mapping[str, Any] | None = None
    normalized: Sequence[Any] | None = None
    identifiers: list[str] = field(default_factory=list)


def earliest_time(entries: object, key: str, where: str) -> datetime | None:
    """Return the earliest `key` time among a list of metadata objects, if any has one."""
    times = [parse_time(entry[key], f"{where}[{index}].{key}")
             for index, entry in enumerate(entries if isinstance(entries, list) else [])
             if isinstance(entry, Mapping) and entry.get(key) is not None]
    return min(times) if times else None


def generic_measurements(obj: Mapping[str, Any]) -> list[Measurement]:
    """Read a decoded object by metric names, for devices without a codec of their own.

    A field named after a metric or an alias becomes a measurement, a plain value or
    {"value", "unit"}. Other numeric fields are kept so that they are rejected as unknown
    metrics. Text, true/false and nested fields are skipped as device metadata.
    """
    found = []
    for key, raw in obj.items():
        value, unit = raw, None
        if isinstance(raw, Mapping) and "value" in raw:
            value = raw["value"]
            unit = raw.get("unit") if isinstance(raw.get("unit"), str) else None
        name = resolve_name(key, unit)
        known = name in METRICS or key in ALIASES or name.rsplit("_", 1)[0] in METRICS
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if known or numeric:
            found.append(Measurement(name, value, unit))
    return found


def _section(entry: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = entry.get(name)
    return section if isinstance(section, Mapping) else {}


def _soil_suffix(soil: Mapping[str, Any]) -> str:
    depth = soil.get("depth")
    if isinstance(depth, int | float) and not isinstance(depth, bool) and depth > 0 and \
            float(depth).is_integer():
        return f"_{int(depth)}cm"
    return ""


def normalized_measurements(entries: Sequence[Any]) -> list[Measurement]:
    """Read a TTN normalised payload (air, soil, wind and battery fields)."""
    found: list[Measurement] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        air, soil, wind = (_section(entry, name) for name in ("air", "soil", "wind"))
        suffix = _soil_suffix(soil)
        pairs = [
            (air, "temperature", "air_temperature", "°C"),
            (air, "relativeHumidity", "relative_humidity", "%"),
            (air, "pressure", "air_pressure", "hPa"),
            (soil, "temperature", f"soil_temperature{suffix}", "°C"),
            (soil, "moisture", f"soil_moisture{suffix}", "%"),
            (soil, "ec", f"soil_ec{suffix}", "dS/m"),
            (wind, "speed", "wind_speed", "m/s"),
            (wind, "direction", "wind_direction", "°"),
            (entry, "battery", "battery", "V"),
        ]
        found.extend(Measurement(metric_name, source[key], unit)
                     for source, key, metric_name, unit in pairs if key in source)
    return found


def _find_model(uplink: Uplink, model_for: ModelLookup | None) -> str | None:
    if model_for is None:
        return None
    for identifier in uplink.identifiers:
        model = model_for(identifier)
        if model is not None:
            return model
    return None


def _byte_codec(uplink: Uplink, model: str | None, model_for: ModelLookup | None) -> Codec:
    """Return the codec for the raw payload, or raise why the bytes cannot be decoded."""
    if model_for is None:
        raise DecodeError("model_missing", f"device {uplink.device} sent raw bytes and no "
                          "decoded object, so its model is needed; register the device or "
                          "pass the model (vuonso ingest decode --model)", device=uplink.device)
    if model is None:
        raise UnknownDevice(uplink.device)
    if model not in MODELS:
        raise DecodeError("model_unknown", f"device {uplink.device} has model {model!r}, which "
                          f"has no codec; use one of {sorted(MODELS)}", model=model,
                          device=uplink.device)
    codec = MODELS[model]
    if codec is None:
        raise DecodeError("codec_missing", f"device {uplink.device} has model {model!r}, which "
                          "sends JSON or SenML and has no byte codec; check the model the "
                          "device is registered with", model=model, device=uplink.device)
    return codec


def decode_uplink(uplink: Uplink, model_for: ModelLookup | None) -> DecodedMessage:
    """Turn an uplink into readings, raising DecodeError (CodecError, UnknownDevice) if none."""
    model = _find_model(uplink, model_for)
    codec = MODELS.get(model) if model is not None else None
    measurements: list[Measurement] = []

    if uplink.decoded is not None:
        if codec is not None:
            measurements = codec.to_readings(uplink.decoded)
        else:
            measurements = generic_measurements(uplink.decoded)
    if not measurements and uplink.normalized:
        measurements = normalized_measurements(uplink.normalized)
    if not measurements and uplink.data:
        codec = _byte_codec(uplink, model, model_for)
        if uplink.port is None:
            raise DecodeError("missing_field", f"device {uplink.device} sent raw bytes without "
                              "an FPort", field="fPort")
        measurements = codec.to_readings(codec.decode(uplink.port, uplink.data))

    collector = Collector()
    collector.add_measurements(uplink.device, uplink.time, measurements)
    return collector.finish()
