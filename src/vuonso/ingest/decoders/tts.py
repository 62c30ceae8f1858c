"""The Things Stack v3 uplink messages, on v3/{application_id}@{tenant}/devices/{device_id}/up.

The message carries end_device_ids (device_id, dev_eui) and uplink_message with f_port,
frm_payload (base64), decoded_payload from the payload formatter, normalized_payload, the
network server's received_at, rx_metadata[].time and settings.time. The model is looked up by
DevEUI first, then by device_id. A device without a DevEUI is stored under its device_id.

Device time: the message's top-level received_at, which the ThingsBoard converters also store.
Without it, uplink_message.received_at, then the earliest rx_metadata[].time, then
settings.time, then the time the worker received the message.
"""

from __future__ import annotations

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
from vuonso.ingest.model import DecodedMessage


def _time(body: Mapping[str, Any], uplink: Mapping[str, Any], received_at: datetime) -> datetime:
    if body.get("received_at") is not None:
        return parse_time(body["received_at"], "payload.received_at")
    if uplink.get("received_at") is not None:
        return parse_time(uplink["received_at"], "payload.uplink_message.received_at")
    gateway_time = earliest_time(uplink.get("rx_metadata"), "time",
                                 "payload.uplink_message.rx_metadata")
    if gateway_time is not None:
        return gateway_time
    settings = uplink.get("settings")
    if isinstance(settings, Mapping) and settings.get("time") is not None:
        return parse_time(settings["time"], "payload.uplink_message.settings.time")
    return received_at


def parse_uplink(topic: str, body: Mapping[str, Any], received_at: datetime) -> Uplink:
    """Read the device, time, port, bytes and decoded objects of an uplink message."""
    ids = require(body, "end_device_ids", dict, "payload")
    device_id = require(ids, "device_id", str, "payload.end_device_ids")
    agree(topic_segment(topic, "devices"), device_id, "payload.end_device_ids.device_id")
    raw_eui = optional(ids, "dev_eui", str, "payload.end_device_ids")
    dev_eui = check_dev_eui(raw_eui, "payload.end_device_ids.dev_eui") if raw_eui else None

    uplink = require(body, "uplink_message", dict, "payload")
    where = "payload.uplink_message"
    frm_payload = optional(uplink, "frm_payload", str, where)
    return Uplink(
        device=dev_eui or device_id,
        time=_time(body, uplink, received_at),
        port=optional(uplink, "f_port", int, where),
        data=decode_base64(frm_payload, f"{where}.frm_payload") if frm_payload else None,
        decoded=optional(uplink, "decoded_payload", dict, where),
        normalized=optional(uplink, "normalized_payload", list, where),
        identifiers=[identifier for identifier in (dev_eui, device_id) if identifier],
    )


def decode(topic: str, payload: bytes, *, received_at: datetime,
           model_for: ModelLookup | None = None) -> DecodedMessage:
    """Decode a The Things Stack uplink message."""
    body = expect(load_json(payload), dict, "payload")
    return decode_uplink(parse_uplink(topic, body, received_at), model_for)
