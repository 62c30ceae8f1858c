"""The codec interface shared by every device model, and helpers for reading payload bytes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from vuonso.ingest.errors import CodecError

# LoRaWAN FPort 0 carries MAC commands only. Application ports are 1-223.
APPLICATION_PORTS = range(1, 224)


class Measurement(NamedTuple):
    """One value taken from a decoded object, before unit conversion and range checks.

    `metric` is a canonical metric name, `value` is in `unit` (None: the metric's canonical unit),
    and `time` is set when the payload carries its own timestamp for this value.
    """

    metric: str
    value: object
    unit: str | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Codec:
    """Bytes-to-readings support for one device model.

    `decode(port, data)` returns the object the vendor's own decoder returns, with the vendor's
    field names, and raises `CodecError` on an unknown port or a payload it cannot read.
    `to_readings(obj)` maps such an object, or the object a network server decoded for this
    model, to measurements, skipping fields it does not know. `ports` lists the FPorts the
    model sends readings on (None: any application port).
    """

    name: str
    decode: Callable[[int, bytes], dict[str, Any]]
    to_readings: Callable[[Mapping[str, Any]], list[Measurement]]
    ports: frozenset[int] | None = None


def check_port(model: str, port: int, ports: frozenset[int] | None) -> None:
    """Raise CodecError unless `port` is one the model sends readings on."""
    if port not in APPLICATION_PORTS:
        raise CodecError(model, f"unknown FPort {port}; application data uses FPort 1-223")
    if ports is not None and port not in ports:
        expected = ", ".join(str(p) for p in sorted(ports))
        raise CodecError(model, f"unknown FPort {port}; this model sends readings on FPort "
                                f"{expected}")


def require_length(model: str, data: bytes, needed: int, part: str) -> None:
    """Raise CodecError when `data` is shorter than `needed` bytes to read `part`."""
    if len(data) < needed:
        raise CodecError(model, f"short payload: {part} needs {needed} bytes, got {len(data)} "
                                f"({data.hex()})")


def field_value(obj: Mapping[str, Any], key: str) -> tuple[object, str | None] | None:
    """Return (value, unit) of a field that is a plain value or a {"value", "unit"} object."""
    if key not in obj:
        return None
    field = obj[key]
    if isinstance(field, Mapping):
        unit = field.get("unit")
        return field.get("value"), unit if isinstance(unit, str) else None
    return field, None


def measurements_from_fields(obj: Mapping[str, Any],
                             fields: Mapping[str, tuple[str, str | None]]) -> list[Measurement]:
    """Map the fields of a flat vendor object, given {field: (metric, unit when unstated)}."""
    found = []
    for key, (metric_name, default_unit) in fields.items():
        entry = field_value(obj, key)
        if entry is None:
            continue
        value, unit = entry
        found.append(Measurement(metric_name, value, unit or default_unit))
    return found
