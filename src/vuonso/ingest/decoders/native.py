"""The platform's own JSON format (format name `json`), published on vuonso/devices/{id}/up.

Single form: {"device": "st-0001", "time": "2026-12-04T05:00:00+07:00",
"readings": {"air_temperature": 25.1, "soil_moisture_20cm": "31.2 %"}}.
Batch form, for uploads buffered during an outage:
{"device": "st-0001", "records": [{"time": ..., "readings": {...}}, ...]}.

A reading is a number in the metric's canonical unit, a string with a unit ("77 °F"), or
{"value": 25, "unit": "°F"}. `device` may be left out when the topic names the device, and
when both name one they must agree. `time` needs a UTC offset. In the single form it may be left
out, and then the time the worker received the message is used. In the batch form each record
needs its time, and a record with a bad time is rejected alone. Other top-level fields are
ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from vuonso.ingest.decoders.common import (
    Collector,
    agree,
    check_device_id,
    expect,
    load_json,
    optional,
    parse_time,
    require,
    topic_segment,
)
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.model import DecodedMessage


def _device(topic: str, body: Mapping[str, Any]) -> str:
    topic_device = topic_segment(topic, "devices")
    body_device = optional(body, "device", str, "payload")
    agree(topic_device, body_device, "payload.device")
    device = body_device or topic_device
    if device is None:
        raise DecodeError("missing_field", "payload has no 'device' field and the topic names "
                          "no device; publish on vuonso/devices/{device_id}/up or add "
                          "\"device\"", field="device")
    return check_device_id(device, "device")


def _add_readings(collector: Collector, device: str, time: datetime, readings: object,
                  where: str) -> None:
    values = expect(readings, dict, where)
    for name, raw in values.items():
        if isinstance(raw, Mapping):
            unit = raw.get("unit")
            if unit is not None and not isinstance(unit, str):
                collector.reject(DecodeError(
                    "wrong_type", f"device {device}: {where}.{name}.unit must be a string",
                    field=f"{where}.{name}.unit", expected="a string"))
                continue
            collector.add(device, time, name, raw.get("value"), unit)
        else:
            collector.add(device, time, name, raw)


def _add_records(collector: Collector, device: str, records: list[Any]) -> None:
    if not records:
        raise DecodeError("no_readings", "payload.records is empty; send at least one record")
    for index, record in enumerate(records):
        where = f"payload.records[{index}]"
        record = expect(record, dict, where)
        try:
            time = parse_time(require(record, "time", (str, int, float), where),
                              f"{where}.time")
        except DecodeError as exc:
            # One record with a bad clock must not cost the rest of a buffered upload.
            collector.reject(DecodeError(exc.reason_code,
                                         f"device {device}: {exc.message}; record skipped",
                                         **exc.params))
            continue
        _add_readings(collector, device, time, require(record, "readings", dict, where),
                      f"{where}.readings")


def decode(topic: str, payload: bytes, *, received_at: datetime,
           model_for: Callable[[str], str | None] | None = None) -> DecodedMessage:
    """Decode a native JSON message. `model_for` is unused because the format has no bytes."""
    body = expect(load_json(payload), dict, "payload")
    device = _device(topic, body)
    collector = Collector()

    has_readings, has_records = "readings" in body, "records" in body
    if has_readings and has_records:
        raise DecodeError("wrong_type", "payload has both 'readings' and 'records'; send one "
                          "reading set or a batch of records", field="records",
                          expected="one of readings or records")
    if has_records:
        _add_records(collector, device, require(body, "records", list, "payload"))
    elif has_readings:
        time = received_at
        if body.get("time") is not None:
            time = parse_time(body["time"], "payload.time")
        _add_readings(collector, device, time, body["readings"], "payload.readings")
    else:
        raise DecodeError("missing_field", "payload has neither 'readings' nor 'records'",
                          field="readings")
    return collector.finish()
