"""SenML JSON (RFC 8428) packs, published on vuonso/senml/{device_id}.

Base fields (bn, bt, bu, bv, bver) apply to the records that follow until a record changes
them. The resolved name bn + n ends in the metric: the part after the last ':' or '/' is the
metric name, canonical or an alias (`temperature`, `humidity`, `pressure`, `battery` ...). A
name starting with urn:dev:vuonso:{device_id}: names the device and must agree with the topic.
Any other prefix (urn:dev:mac:..., urn:dev:ow:...) leaves the device to the topic.

Times are seconds since the Unix epoch. RFC 8428 makes a resolved time below 2**28 relative to
the current time, here the time the message arrived. Values are `v` (plus bv) in unit `u` or bu:
SenML units Cel, K, %RH, /, %EL, V, Pa, m, m/s, rad, S/m, W/m2 and the others of `metrics`.
String, boolean, data and sum values (vs, vb, vd, s) are rejected per record. A field ending in
'_' must be understood by the receiver per the RFC, so a pack with one is rejected whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from vuonso.ingest.decoders.common import (
    Collector,
    agree,
    check_device_id,
    expect,
    load_json,
    topic_segment,
)
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.model import DecodedMessage

SENML_VERSION = 10
RELATIVE_TIME_LIMIT = 2 ** 28
URN_PREFIX = "urn:dev:vuonso:"


@dataclass(slots=True)
class _Base:
    name: str = ""
    time: float = 0.0
    unit: str | None = None
    value: float = 0.0


def _number(record: Mapping[str, Any], key: str, where: str, reason: str) -> float | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value):
        raise DecodeError(reason, f"{where}.{key} must be a finite number, got {value!r}",
                          field=f"{where}.{key}", value=repr(value))
    return float(value)


def _update_base(base: _Base, record: Mapping[str, Any], where: str) -> None:
    unsupported = sorted(key for key in record if key.endswith("_"))
    version = record.get("bver")
    if unsupported or (version is not None and version != SENML_VERSION and
                       (not isinstance(version, int) or version > SENML_VERSION)):
        raise DecodeError("senml_unsupported", f"{where} uses must-understand fields "
                          f"{unsupported} or version {version!r}; this receiver implements "
                          f"SenML version {SENML_VERSION} without extensions", field=where)
    if "bn" in record:
        base.name = expect(record["bn"], str, f"{where}.bn")
    if "bu" in record:
        base.unit = expect(record["bu"], str, f"{where}.bu")
    bt = _number(record, "bt", where, "time_invalid")
    if bt is not None:
        base.time = bt
    bv = _number(record, "bv", where, "wrong_type")
    if bv is not None:
        base.value = bv


def _split_name(name: str) -> tuple[str | None, str]:
    """Return (device named by a urn:dev:vuonso: prefix or None, metric name)."""
    cut = max(name.rfind(":"), name.rfind("/"))
    prefix, metric_name = name[:cut + 1], name[cut + 1:]
    device = None
    if prefix.startswith(URN_PREFIX):
        device = prefix[len(URN_PREFIX):].rstrip(":/") or None
    return device, metric_name


def _time(seconds: float, received_at: datetime, where: str) -> datetime:
    try:
        if seconds < RELATIVE_TIME_LIMIT:
            return received_at + timedelta(seconds=seconds)
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise DecodeError("time_invalid", f"{where} time {seconds!r} is outside the supported "
                          "range", field=where, value=repr(seconds)) from None


def _value(record: Mapping[str, Any], base: _Base, device: str, name: str) -> object:
    if "v" in record:
        raw = record["v"]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw + base.value
        return raw  # rejected by the metric check with its type in the message
    for key in ("vs", "vb", "vd", "s"):
        if key in record:
            raise DecodeError("value_not_numeric", f"device {device}: {name} carries a SenML "
                              f"{key!r} value; only numeric 'v' values are stored",
                              metric=name, value=repr(record[key]))
    raise DecodeError("value_not_numeric", f"device {device}: {name} has no value",
                      metric=name, value="null")


def decode(topic: str, payload: bytes, *, received_at: datetime,
           model_for: Callable[[str], str | None] | None = None) -> DecodedMessage:
    """Decode a SenML pack. `model_for` is unused because the format has no bytes."""
    pack = expect(load_json(payload), list, "payload")
    if not pack:
        raise DecodeError("no_readings", "SenML pack is empty; send at least one record")
    topic_device = topic_segment(topic, "senml")
    base = _Base()
    collector = Collector()

    for index, entry in enumerate(pack):
        where = f"payload[{index}]"
        record = expect(entry, dict, where)
        _update_base(base, record, where)
        if not any(key in record for key in ("n", "v", "vs", "vb", "vd", "s")):
            continue  # a record that only sets base values
        name = base.name + expect(record.get("n", ""), str, f"{where}.n")
        named_device, metric_name = _split_name(name)
        agree(topic_device, named_device, f"{where} name {name!r}")
        device = named_device or topic_device
        if device is None:
            raise DecodeError("missing_field", f"{where} name {name!r} names no device and the "
                              "topic names none; publish on vuonso/senml/{device_id} or use "
                              "bn \"urn:dev:vuonso:{device_id}:\"", field="bn")
        check_device_id(device, "device")

        try:
            t = _number(record, "t", where, "time_invalid")
            time = _time(base.time + (t or 0.0), received_at, where)
            raw = _value(record, base, device, metric_name)
        except DecodeError as exc:
            collector.reject(exc)
            continue
        unit = record.get("u", base.unit)
        if unit is not None and not isinstance(unit, str):
            collector.reject(DecodeError("wrong_type", f"{where}.u must be a string",
                                         field=f"{where}.u", expected="a string"))
            continue
        collector.add(device, time, metric_name, raw, unit)
    return collector.finish()
