"""Milesight EM500-SMT and EM500-SMTC soil probes (moisture, temperature and, on SMTC, EC).

Readings arrive on FPort 85 as a sequence of channels: channel id (1 byte), channel type
(1 byte), value (little-endian). The channels:
- 01 75 battery % (uint8)
- 03 67 temperature (int16, 0.1 °C)
- 04 68 moisture (uint8, 0.5 %), or 04 CA moisture (uint16, 0.01 %)
- 05 7F ec (uint16, µS/cm)
- 83 D7 temperature alarm: temperature, temperature_change (int16, 0.1 °C), alarm type (1 byte)
- 20 CE history record: timestamp (uint32, Unix seconds), ec, temperature, moisture (0.01 %)
- FF xx device information (versions, serial number, class, reset and status events)
A 2-byte value of 0xFFFF means "collection failed" and 0xFFFD "out of range".

Decoded object (vendor field names): `battery`, `temperature`, `moisture`, `ec`,
`temperature_change`, `temperature_alarm`, `<field>_error`, `history` (a list of `timestamp`,
`ec`, `temperature`, `moisture`), `ipso_version`, `hardware_version`, `firmware_version`,
`tsl_version`, `sn`, `lorawan_class`, `reset_event`, `device_status`. Other vendor decoder
versions name moisture `humidity` and EC `electricity`, and `to_readings` accepts those too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from vuonso.ingest.codecs.base import Codec, Measurement, check_port, require_length
from vuonso.ingest.errors import CodecError

PORTS = frozenset({85})
_SENSOR_STATUS = {0xFFFF: "collection failed", 0xFFFD: "out of range"}
_ALARMS = {0: "threshold alarm", 1: "threshold alarm release", 2: "mutation alarm"}
_CLASSES = {0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"}


def _uint(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset:offset + size], "little")


def _int16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 2], "little", signed=True)


def _put(target: dict[str, Any], name: str, raw: int, value: float) -> None:
    """Store a 2-byte reading, or `<name>_error` when the raw value is a sensor status code.

    NOTE: on the signed temperature channel the status codes 0xFFFF and 0xFFFD are also
    -0.1 °C and -0.3 °C. Like the vendor's history decoder, this codec reads them as status.
    """
    if raw in _SENSOR_STATUS:
        target[f"{name}_error"] = _SENSOR_STATUS[raw]
    else:
        target[name] = value


def _history(data: bytes, i: int) -> dict[str, Any]:
    record: dict[str, Any] = {"timestamp": _uint(data, i, 4)}
    _put(record, "ec", _uint(data, i + 4, 2), _uint(data, i + 4, 2))
    _put(record, "temperature", _uint(data, i + 6, 2), _int16(data, i + 6) / 10)
    _put(record, "moisture", _uint(data, i + 8, 2), _uint(data, i + 8, 2) / 100)
    return record


def _version(data: bytes, i: int) -> str:
    return f"v{data[i]}.{data[i + 1]}"


# (channel id, channel type) -> (value bytes, reader storing the fields into the object).
_Reader = Callable[[dict[str, Any], bytes, int], None]
_CHANNELS: dict[tuple[int, int], tuple[int, _Reader]] = {
    (0x01, 0x75): (1, lambda o, d, i: o.__setitem__("battery", d[i])),
    (0x03, 0x67): (2, lambda o, d, i: _put(o, "temperature", _uint(d, i, 2),
                                           _int16(d, i) / 10)),
    (0x04, 0x68): (1, lambda o, d, i: o.__setitem__("moisture", d[i] / 2)),
    (0x04, 0xCA): (2, lambda o, d, i: _put(o, "moisture", _uint(d, i, 2),
                                           _uint(d, i, 2) / 100)),
    (0x05, 0x7F): (2, lambda o, d, i: _put(o, "ec", _uint(d, i, 2), _uint(d, i, 2))),
    (0x83, 0xD7): (5, lambda o, d, i: o.update(
        temperature=_int16(d, i) / 10, temperature_change=_int16(d, i + 2) / 10,
        temperature_alarm=_ALARMS.get(d[i + 4], "unknown"))),
    (0x20, 0xCE): (10, lambda o, d, i: o.setdefault("history", []).append(_history(d, i))),
    (0xFF, 0x01): (1, lambda o, d, i: o.__setitem__(
        "ipso_version", f"v{d[i] >> 4}.{d[i] & 0x0F}")),
    (0xFF, 0x09): (2, lambda o, d, i: o.__setitem__(
        "hardware_version", f"v{d[i]}.{d[i + 1] >> 4}")),
    (0xFF, 0x0A): (2, lambda o, d, i: o.__setitem__("firmware_version", _version(d, i))),
    (0xFF, 0xFF): (2, lambda o, d, i: o.__setitem__("tsl_version", _version(d, i))),
    (0xFF, 0x16): (8, lambda o, d, i: o.__setitem__("sn", d[i:i + 8].hex())),
    (0xFF, 0x0F): (1, lambda o, d, i: o.__setitem__(
        "lorawan_class", _CLASSES.get(d[i], "unknown"))),
    (0xFF, 0xFE): (1, lambda o, d, i: o.__setitem__("reset_event", "reset")),
    (0xFF, 0x0B): (1, lambda o, d, i: o.__setitem__("device_status", "on")),
}


def decode_channels(model: str, port: int, data: bytes) -> dict[str, Any]:
    """Decode an EM500 uplink into the vendor's object."""
    check_port(model, port, PORTS)
    require_length(model, data, 3, "one channel")
    decoded: dict[str, Any] = {}
    i = 0
    while i < len(data):
        require_length(model, data, i + 2, f"the channel header at byte {i}")
        key = (data[i], data[i + 1])
        if key not in _CHANNELS:
            raise CodecError(model, f"unknown channel {data[i]:02x} {data[i + 1]:02x} at byte "
                                    f"{i} ({data.hex()}); the firmware may be newer than this "
                                    "codec")
        size, read = _CHANNELS[key]
        require_length(model, data, i + 2 + size, f"channel {data[i]:02x} {data[i + 1]:02x}")
        read(decoded, data, i + 2)
        i += 2 + size
    return decoded


def _soil_measurements(obj: Mapping[str, Any], time: datetime | None) -> list[Measurement]:
    found = []
    for keys, metric_name, unit in ((("temperature",), "soil_temperature", "°C"),
                                    (("moisture", "humidity"), "soil_moisture", "%"),
                                    (("ec", "electricity"), "soil_ec", "µS/cm")):
        for key in keys:
            if key in obj:
                found.append(Measurement(metric_name, obj[key], unit, time))
                break
            if f"{key}_error" in obj:
                # A status text in place of the value is rejected as not numeric, with the text.
                found.append(Measurement(metric_name, obj[f"{key}_error"], unit, time))
                break
    return found


def to_readings(obj: Mapping[str, Any]) -> list[Measurement]:
    """Map an EM500 object to measurements, each history record at its own timestamp."""
    found = []
    if "battery" in obj:
        found.append(Measurement("battery_level", obj["battery"], "%"))
    found.extend(_soil_measurements(obj, None))
    history = obj.get("history")
    for record in history if isinstance(history, list) else []:
        if not isinstance(record, Mapping):
            continue
        stamp = record.get("timestamp")
        time = None
        if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
            time = datetime.fromtimestamp(stamp, UTC)
        found.extend(_soil_measurements(record, time))
    return found


def _codec(model: str) -> Codec:
    def decode(port: int, data: bytes) -> dict[str, Any]:
        return decode_channels(model, port, data)

    return Codec(model, decode, to_readings, PORTS)


EM500_SMT_CODEC = _codec("milesight-em500-smt")
EM500_SMTC_CODEC = _codec("milesight-em500-smtc")
