"""Payload decoders: one MQTT message in a known format -> normalised readings.

`decode` is the single entry point. It raises DecodeError (with a `reason_code`, stored with the
dead letter) when the message as a whole cannot be read, and lists rejected single values in
`DecodedMessage.rejected` while keeping the good ones. docs/payloads.md describes each format.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vuonso.ingest.decoders import chirpstack, native, senml, tts
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.model import DecodedMessage

Decoder = Callable[..., DecodedMessage]

DECODERS: dict[str, Decoder] = {
    "json": native.decode,
    "senml": senml.decode,
    "chirpstack": chirpstack.decode,
    "tts": tts.decode,
}
FORMATS = tuple(DECODERS)


def decode(fmt: str, topic: str, payload: bytes, *, received_at: datetime,
           model_for: Callable[[str], str | None] | None = None) -> DecodedMessage:
    """Decode one message of format `fmt` received on `topic` at `received_at` (tz-aware).

    `model_for(identifier)` returns the registered model of a device (identifier: the DevEUI in
    lowercase hex, or The Things Stack device_id) or None when the device is not registered. It
    is needed to read a vendor's decoded object and to decode raw LoRaWAN bytes. Without it,
    decoded objects are read by metric names and raw bytes are rejected as model_missing.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    decoder = DECODERS.get(fmt)
    if decoder is None:
        raise DecodeError("format_unknown", f"unknown payload format {fmt!r}; use one of "
                          f"{list(FORMATS)}", format=fmt)
    return decoder(topic, payload, received_at=received_at, model_for=model_for)


__all__ = ["DECODERS", "FORMATS", "decode"]
