"""Steps shared by the payload decoders: JSON, device ids, times, and collecting readings."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from vuonso.ingest.codecs.base import Measurement
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.metrics import canonical_value, resolve_name
from vuonso.ingest.model import DecodedMessage, Reading

T = TypeVar("T")

# Same rule as the ingest.devices.device_id column check.
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
DEV_EUI = re.compile(r"^[0-9a-f]{16}$")
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "an integer",
               float: "a number", bool: "true or false"}
_REJECTIONS_LISTED = 5


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def load_json(payload: bytes) -> Any:
    """Parse a UTF-8 JSON payload, allowing a leading byte order mark."""
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("invalid_utf8", f"payload is not UTF-8 text: invalid byte "
                          f"0x{payload[exc.start]:02x} at offset {exc.start}; send JSON "
                          "encoded as UTF-8", offset=exc.start) from None
    if not text.strip():
        raise DecodeError("invalid_json", "payload is empty; send a JSON document",
                          position=0)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError("invalid_json", f"payload is not valid JSON ({exc.msg}, line "
                          f"{exc.lineno} column {exc.colno})", position=exc.pos) from None


def require(obj: Mapping[str, Any], key: str, kind: type[T] | tuple[type, ...], where: str) -> T:
    """Return obj[key] or raise missing_field or wrong_type. `where` names obj in messages."""
    if key not in obj or obj[key] is None:
        raise DecodeError("missing_field", f"{where} has no {key!r} field", field=key)
    return expect(obj[key], kind, f"{where}.{key}")


def expect(value: object, kind: type[T] | tuple[type, ...], field: str) -> T:
    """Return `value` when it has the JSON type `kind`, else raise wrong_type."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        expected = " or ".join(_JSON_TYPES.get(k, k.__name__) for k in kinds)
        raise DecodeError("wrong_type", f"{field} must be {expected}, got {type_name(value)} "
                          f"{_short(value)}", field=field, expected=expected)
    return value  # type: ignore[return-value]


def optional(obj: Mapping[str, Any], key: str, kind: type[T] | tuple[type, ...],
             where: str) -> T | None:
    """Return obj[key] checked like `require`, or None when the field is absent or null."""
    if obj.get(key) is None:
        return None
    return expect(obj[key], kind, f"{where}.{key}")


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_device_id(device: str, field: str) -> str:
    if not DEVICE_ID.match(device):
        raise DecodeError("device_invalid", f"{field} {device!r} is not a valid device id; use "
                          "1-64 letters, digits, '.', '_', ':' or '-', starting with a letter "
                          "or digit", device=device)
    return device


def check_dev_eui(dev_eui: str, field: str) -> str:
    """Return a DevEUI as 16 lowercase hex digits."""
    normalised = dev_eui.strip().lower().replace("-", "").replace(":", "")
    if not DEV_EUI.match(normalised):
        raise DecodeError("device_invalid", f"{field} {dev_eui!r} is not a DevEUI of 16 hex "
                          "digits", device=dev_eui)
    return normalised


def agree(topic_device: str | None, body_device: str | None, field: str,
          *, fold_case: bool = False) -> None:
    """Raise device_mismatch when the topic and the body name different devices."""
    if topic_device is None or body_device is None:
        return
    left, right = (topic_device.lower(), body_device.lower()) if fold_case else \
        (topic_device, body_device)
    if left != right:
        raise DecodeError("device_mismatch", f"topic names device {topic_device!r} but "
                          f"{field} is {body_device!r}; publish each device's payloads on its "
                          "own topic", device=body_device, topic_device=topic_device)


def topic_segment(topic: str, marker: str) -> str | None:
    """Return the topic level after `marker` (`devices` in vuonso/devices/st-1/up), if any."""
    levels = topic.split("/")
    for index, level in enumerate(levels[:-1]):
        if level == marker and levels[index + 1]:
            return levels[index + 1]
    return None


def parse_time(value: object, field: str) -> datetime:
    """Parse an ISO 8601 time with an offset into a UTC datetime."""
    if not isinstance(value, str):
        raise DecodeError("time_invalid", f"{field} must be an ISO 8601 string such as "
                          f"2026-12-04T05:00:00+07:00, got {type_name(value)} {_short(value)}",
                          field=field, value=_short(value))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise DecodeError("time_invalid", f"{field} {value!r} is not an ISO 8601 time; write "
                          "it like 2026-12-04T05:00:00+07:00", field=field,
                          value=value) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise DecodeError("time_missing_offset", f"{field} {value!r} has no UTC offset; add "
                          "one, e.g. +07:00 for Vietnam or Z for UTC", field=field, value=value)
    return parsed.astimezone(UTC)


def decode_base64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError("invalid_base64", f"{field} {_short(value)} is not valid base64",
                          field=field) from None


class Collector:
    """Turn measurements into readings of one message, keeping each rejection with its reason."""

    def __init__(self) -> None:
        self.message = DecodedMessage()
        self._first_error: DecodeError | None = None

    def add(self, device: str, time: datetime, name: str, raw: object,
            unit: str | None = None) -> None:
        """Convert one value. A DecodeError rejects this value only."""
        metric_name = resolve_name(name, unit)
        try:
            value, canonical_unit = canonical_value(metric_name, raw, unit)
        except DecodeError as exc:
            self._first_error = self._first_error or exc
            self.message.rejected.append((exc.reason_code, f"device {device}: {exc.message}"))
            return
        self.message.readings.append(Reading(device, metric_name, time, value, canonical_unit))

    def add_measurements(self, device: str, time: datetime,
                         measurements: Iterable[Measurement]) -> None:
        for measurement in measurements:
            self.add(device, measurement.time or time, measurement.metric, measurement.value,
                     measurement.unit)

    def reject(self, error: DecodeError) -> None:
        self._first_error = self._first_error or error
        self.message.rejected.append((error.reason_code, error.message))

    def finish(self) -> DecodedMessage:
        """Return the message, or raise when no reading is left to store.

        With no readings at all the reason is no_readings. When every reading was rejected, the
        reason is that of the first rejection and the message lists the first few.
        """
        if self.message.readings:
            return self.message
        rejected = self.message.rejected
        if self._first_error is None:
            raise DecodeError("no_readings", "payload contains no readings; send at least one "
                              "metric with a value")
        listed = "; ".join(message for _, message in rejected[:_REJECTIONS_LISTED])
        more = f" (and {len(rejected) - _REJECTIONS_LISTED} more)" \
            if len(rejected) > _REJECTIONS_LISTED else ""
        first = self._first_error
        raise DecodeError(first.reason_code, f"every reading was rejected: {listed}{more}",
                          **first.params)
