"""ChirpStack uplink events, on application/{application_id}/device/{dev_eui}/event/up.

Version 4 events carry deviceInfo.devEui (hex), fPort, data (base64 FRMPayload), an optional
`object` decoded by the device profile's codec, `time` and rxInfo[] with gwTime and nsTime.
Version 3 events (application/{id}/device/{dev_eui}/rx) are read too: devEUI in base64,
objectJSON as a JSON string, rxInfo[].time.

Device time: the event's own `time`, which ChirpStack sets from the gateway time or its
receive time, and which the ThingsBoard converters also store. It is used as is, even when it
disagrees with rxInfo[].nsTime. Without `time`, the earliest rxInfo[].gwTime, then nsTime
(version 3: rxInfo[].time), then the time the worker received the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vuonso.ingest.decoders.common import (
    agree,
    check_dev_eui,
    decode_base64,
    expect,
    load_json,
    optional,
    parse_time,
    require,
    topic_segment,
)
from vuonso.ingest.decoders.lorawan import ModelLookup, Uplink, decode_uplink, earliest_time
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.model import DecodedMessage


def _v3_dev_eui(body: Mapping[str, Any]) -> str:
    raw = require(body, "devEUI", str, "payload")
    if len(raw) == 16:
        return check_dev_eui(raw, "payload.devEUI")
    return check_dev_eui(decode_base64(raw, "payload.devEUI").hex(), "payload.devEUI")


def _v3_object(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    text = optional(body, "objectJSON", str, "payload")
    if not text:
        return optional(body, "object", dict, "payload")
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError("invalid_json", f"payload.objectJSON is not valid JSON: {exc.msg}",
                          position=exc.pos) from None
    return expect(decoded, dict, "payload.objectJSON")


def _time(body: Mapping[str, Any], received_at: datetime, version: int) -> datetime:
    if body.get("time") is not None:
        return parse_time(body["time"], "payload.time")
    rx_info = body.get("rxInfo")
    keys = ("gwTime", "nsTime") if version == 4 else ("time",)
    for key in keys:
        found = earliest_time(rx_info, key, "payload.rxInfo")
        if found is not None:
            return found
    return received_at


def parse_uplink(topic: str, body: Mapping[str, Any], received_at: datetime) -> Uplink:
    """Read the device, time, port, bytes and decoded object of a version 3 or 4 event."""
    decoded: Mapping[str, Any] | None
    if "deviceInfo" in body:
        version = 4
        info = require(body, "deviceInfo", dict, "payload")
        dev_eui = check_dev_eui(require(info, "devEui", str, "payload.deviceInfo"),
                                "payload.deviceInfo.devEui")
        decoded = optional(body, "object", dict, "payload")
    elif "devEUI" in body:
        version = 3
        dev_eui = _v3_dev_eui(body)
        decoded = _v3_object(body)
    else:
        raise DecodeError("missing_field", "payload has neither deviceInfo.devEui (ChirpStack "
                          "v4) nor devEUI (v3); is this an uplink event?", field="deviceInfo")
    agree(topic_segment(topic, "device"), dev_eui, "payload devEui", fold_case=True)

    data_text = optional(body, "data", str, "payload")
    return Uplink(
        device=dev_eui,
        time=_time(body, received_at, version),
        port=optional(body, "fPort", int, "payload"),
        data=decode_base64(data_text, "payload.data") if data_text else None,
        decoded=decoded,
        identifiers=[dev_eui],
    )


def decode(topic: str, payload: bytes, *, received_at: datetime,
           model_for: ModelLookup | None = None) -> DecodedMessage:
    """Decode a ChirpStack uplink event."""
    body = expect(load_json(payload), dict, "payload")
    return decode_uplink(parse_uplink(topic, body, received_at), model_for)
