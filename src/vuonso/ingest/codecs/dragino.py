"""Dragino LSE01 soil moisture, temperature and conductivity sensor.

Readings arrive on FPort 2 as 11 bytes, big-endian:
- bytes 0-1 battery mV (uint16, low 14 bits)
- bytes 2-3 DS18B20 probe temperature (int16, 0.1 °C)
- bytes 4-5 soil water (uint16, 0.01 %)
- bytes 6-7 soil temperature (int16, 0.01 °C)
- bytes 8-9 soil conductivity (uint16, µS/cm)
- byte 10 flags, which the vendor decoder ignores

Decoded object (vendor field names): `Bat` (V, number), `TempC_DS18B20` (°C, string with one
decimal), `water_SOIL` (%, string with two decimals), `temp_SOIL` (°C, string with two
decimals), `conduct_SOIL` (µS/cm, number).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vuonso.ingest.codecs.base import (
    Codec,
    Measurement,
    check_port,
    measurements_from_fields,
    require_length,
)

MODEL = "dragino-lse01"
PORTS = frozenset({2})
PAYLOAD_BYTES = 11


def _int16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 2], "big", signed=True)


def _uint16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 2], "big")


def decode(port: int, data: bytes) -> dict[str, Any]:
    """Decode an LSE01 uplink into the vendor's object."""
    check_port(MODEL, port, PORTS)
    require_length(MODEL, data, PAYLOAD_BYTES, f"an FPort {port} reading")

    # NOTE: for a negative soil temperature the vendor decoder subtracts 0xFFFF instead of
    # 0x10000, so it reads 0.01 °C high. This codec uses plain two's complement.
    return {
        "Bat": (_uint16(data, 0) & 0x3FFF) / 1000,
        "TempC_DS18B20": f"{_int16(data, 2) / 10:.1f}",
        "water_SOIL": f"{_uint16(data, 4) / 100:.2f}",
        "temp_SOIL": f"{_int16(data, 6) / 100:.2f}",
        "conduct_SOIL": _uint16(data, 8),
    }


# The DS18B20 is an external probe that measures the air in most installations, as in the
# normalised output of the LSE01 codec in The Things Network's device repository.
FIELDS = {
    "Bat": ("battery", "V"),
    "TempC_DS18B20": ("air_temperature", "°C"),
    "water_SOIL": ("soil_moisture", "%"),
    "temp_SOIL": ("soil_temperature", "°C"),
    "conduct_SOIL": ("soil_ec", "µS/cm"),
}


def to_readings(obj: Mapping[str, Any]) -> list[Measurement]:
    """Map an LSE01 object to measurements."""
    return measurements_from_fields(obj, FIELDS)


CODEC = Codec(MODEL, decode, to_readings, PORTS)
