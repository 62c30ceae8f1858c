"""SenseCAP S2105 soil moisture, temperature and EC sensor (the S210x frame protocol).

Byte layout: frames of 7 bytes, then a CRC-16/KERMIT of all frames (polynomial 0x1021,
reflected, initial value 0, stored little-endian). Each frame is channel (1 byte), data id
(uint16 LE) and value (4 bytes LE). Ids above 4096 are measurements, value = int32 / 1000. The
vendor's decoder ignores the FPort, so any application port is accepted.

Decoded object (vendor field names): `valid`, `err`, `payload` (upper-case hex) and `messages`,
each with a `type`: `report_telemetry` (`measurementId`, `measurementValue`), `upload_battery`
(`battery` %), `upload_interval` (`interval` s), `upload_version` (`hardwareVersion`,
`softwareVersion`), `upload_sensor_id` (`channel`, `sensorId`), `report_remove_sensor`
(`channel`), `unknown_message` (`dataID`, `dataValue`). Where the vendor decoder would return
`valid: false` (bad CRC, length not a whole number of frames) this codec raises CodecError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vuonso.ingest.codecs.base import Codec, Measurement, check_port, require_length
from vuonso.ingest.errors import CodecError

MODEL = "sensecap-s2105"
FRAME_BYTES = 7
CRC_BYTES = 2

# Measurement ids of the SenseCAP measurement list -> (canonical metric, unit of the value).
MEASUREMENTS: dict[int, tuple[str, str]] = {
    4097: ("air_temperature", "°C"),
    4098: ("relative_humidity", "%"),
    4101: ("air_pressure", "Pa"),
    4102: ("soil_temperature", "°C"),
    4103: ("soil_moisture", "%"),
    4104: ("wind_direction", "°"),
    4105: ("wind_speed", "m/s"),
    4108: ("soil_ec", "dS/m"),
    4110: ("soil_moisture", "%"),
    4111: ("soil_ec", "dS/m"),
    4112: ("soil_temperature", "°C"),
}

_VERSION = 0x00
_SENSOR_VERSION = 0x01
_SENSOR_ID_LOW = 0x02
_SENSOR_ID_HIGH = 0x03
_BATTERY_INTERVAL = 0x07
_REMOVE_SENSOR = 0x120
_SILENT_IDS = {_SENSOR_VERSION, 0x04, 0x05, 0x06}  # metadata the vendor decoder drops


def crc16_kermit(data: bytes) -> int:
    """Return the CRC-16/KERMIT of `data` (poly 0x1021 reflected as 0x8408, initial value 0)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def _version(value: bytes) -> tuple[str, str]:
    return f"{value[3]}.{value[2]}", f"{value[1]}.{value[0]}"


def _frame_message(channel: int, data_id: int, value: bytes) -> dict[str, Any] | None:
    if data_id > 4096:
        return {"type": "report_telemetry", "measurementId": data_id,
                "measurementValue": int.from_bytes(value, "little", signed=True) / 1000}
    if data_id == _VERSION:
        hardware, software = _version(value)
        return {"type": "upload_version", "hardwareVersion": hardware,
                "softwareVersion": software}
    if data_id == _REMOVE_SENSOR:
        return {"type": "report_remove_sensor", "channel": channel}
    if data_id in _SILENT_IDS:
        return None
    return {"type": "unknown_message", "dataID": data_id, "dataValue": value.hex().upper()}


def decode(port: int, data: bytes) -> dict[str, Any]:
    """Decode an S210x uplink into the vendor's object."""
    check_port(MODEL, port, None)
    require_length(MODEL, data, FRAME_BYTES + CRC_BYTES, "one frame and its CRC")
    if (len(data) - CRC_BYTES) % FRAME_BYTES:
        raise CodecError(MODEL, f"invalid length: {len(data)} bytes is not 7-byte frames "
                                f"plus a 2-byte CRC ({data.hex()})")
    body, stated = data[:-CRC_BYTES], int.from_bytes(data[-CRC_BYTES:], "little")
    if crc16_kermit(body) != stated:
        raise CodecError(MODEL, f"CRC mismatch: payload states 0x{stated:04x}, frames give "
                                f"0x{crc16_kermit(body):04x}; the payload is corrupted")

    messages: list[dict[str, Any]] = []
    sensor_id: dict[int, str] = {}
    sensor_channel = 1
    for offset in range(0, len(body), FRAME_BYTES):
        channel = body[offset]
        data_id = int.from_bytes(body[offset + 1:offset + 3], "little")
        value = body[offset + 3:offset + FRAME_BYTES]
        if data_id in (_SENSOR_ID_LOW, _SENSOR_ID_HIGH):
            sensor_id[data_id] = value[::-1].hex().upper()
            sensor_channel = channel
        elif data_id == _BATTERY_INTERVAL:
            messages.append({"type": "upload_battery",
                             "battery": int.from_bytes(value[0:2], "little")})
            messages.append({"type": "upload_interval",
                             "interval": int.from_bytes(value[2:4], "little") * 60})
        else:
            message = _frame_message(channel, data_id, value)
            if message is not None:
                messages.append(message)

    if len(sensor_id) == 2:
        messages.insert(0, {"type": "upload_sensor_id", "channel": sensor_channel,
                            "sensorId": sensor_id[_SENSOR_ID_HIGH] + sensor_id[_SENSOR_ID_LOW]})
    return {"valid": True, "err": 0, "payload": data.hex().upper(), "messages": messages}


def to_readings(obj: Mapping[str, Any]) -> list[Measurement]:
    """Map an S210x object to measurements.

    Measurement ids without a metric are kept, so they are rejected as unknown metrics rather
    than dropped unseen.
    """
    found = []
    messages = obj.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            continue
        kind = message.get("type")
        if kind == "report_telemetry":
            identifier = message.get("measurementId")
            known = MEASUREMENTS.get(identifier) if isinstance(identifier, int) else None
            metric_name, unit = known or (f"sensecap_measurement_{identifier}", None)
            found.append(Measurement(metric_name, message.get("measurementValue"), unit))
        elif kind == "upload_battery":
            found.append(Measurement("battery_level", message.get("battery"), "%"))
    return found


CODEC = Codec(MODEL, decode, to_readings)
