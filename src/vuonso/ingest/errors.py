"""Exceptions of the ingest package.

IngestError
 ├── DecodeError        a payload cannot be turned into readings (reason_code names why)
 ├── UnknownDevice      a payload names a device that is not registered
 ├── CodecError         raw LoRaWAN bytes do not match the codec (unknown port, short payload)
 └── BrokerError        the MQTT broker cannot be reached or refused the connection
"""

from __future__ import annotations

from typing import Any

from vuonso.core.errors import VuonSoError


class IngestError(VuonSoError):
    status = 422
    code = "ingest_error"


class DecodeError(IngestError):
    """A payload rejected before storage; `reason_code` is stored with its dead letter."""

    code = "payload_invalid"

    def __init__(self, reason_code: str, message: str, **params: Any) -> None:
        super().__init__(message, key=f"ingest.reason.{reason_code}", **params)
        self.reason_code = reason_code


class UnknownDevice(DecodeError):
    code = "device_unknown"

    def __init__(self, device: str) -> None:
        super().__init__(
            "unknown_device",
            f"device {device!r} is not registered; register it with its model and plot, "
            "then replay the dead letter",
            device=device,
        )
        self.device = device


class CodecError(DecodeError):
    code = "codec_failed"

    def __init__(self, model: str, message: str) -> None:
        super().__init__("codec_failed", f"{model}: {message}", model=model)
        self.model = model


class BrokerError(IngestError):
    status = 503
    code = "broker_unavailable"
