"""The normalised reading every decoder produces and the writer stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one metric from one device at one device time.

    `device` is the identifier found in the payload: the platform device id for native JSON and
    SenML, the DevEUI (16 lowercase hex digits) for LoRaWAN uplinks. `time` is timezone-aware.
    `value` is already converted to the metric's canonical `unit`.
    """

    device: str
    metric: str
    time: datetime
    value: float
    unit: str


@dataclass(slots=True)
class DecodedMessage:
    """All readings of one MQTT message, plus readings it rejected (each with a reason)."""

    readings: list[Reading] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (reason_code, message)
