"""Decentlab protocol version 2: DL-5TM soil probe, DL-ATM41 weather station, DL-TBRG rain gauge.

Byte layout, big-endian: version (1 byte, must be 2), device id (uint16), sensor flags (uint16,
bit i set = sensor group i present), then for each present group its words (uint16 each) in
group order. The vendor's decoders ignore the FPort, so any application port is accepted.

Decoded object (vendor field names): `protocol_version`, `device_id`, and one entry per value,
`{"displayName": ..., "value": ..., "unit": ...}` (`unit` is absent for dimensionless values).

Every model's last group (1 word) is `battery_voltage` V = w0/1000. The first group:
- DL-5TM (2 words): `dielectric_permittivity` = w0/50, `volumetric_water_content` m³⋅m⁻³
  (Topp equation of the permittivity), `soil_temperature` °C = (w1-400)/10.
- DL-ATM41 (17 words, each offset by 32768): `solar_radiation` W⋅m⁻², `precipitation` mm
  (/1000), `lightning_strike_count`, `lightning_average_distance` km, `wind_speed` m⋅s⁻¹
  (/100), `wind_direction` ° (/10), `maximum_wind_speed` (/100), `air_temperature` °C (/10),
  `vapor_pressure` kPa (/100), `atmospheric_pressure` kPa (/100), `relative_humidity` % (/10),
  `sensor_temperature_internal` °C (/10), `x_orientation_angle` and `y_orientation_angle` °
  (/10), `compass_heading` °, `north_wind_speed` and `east_wind_speed` (/100).
- DL-TBRG (4 words): `precipitation` mm = w0 x 0.1, `precipitation_interval` s = w1,
  `cumulative_precipitation` mm = (w2 + w3 x 65536) x 0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from vuonso.ingest.codecs.base import Codec, Measurement, check_port, measurements_from_fields
from vuonso.ingest.errors import CodecError

PROTOCOL_VERSION = 2
# NOTE: DL-TBRG buckets come in several sizes, and 0.1 mm per tip is the vendor decoder's
# default. A gauge with another bucket needs its own model entry with its resolution.
TBRG_RESOLUTION_MM = 0.1


class Value(NamedTuple):
    name: str
    display_name: str
    convert: Callable[[Sequence[int]], float]
    unit: str | None


class Sensor(NamedTuple):
    words: int
    values: tuple[Value, ...]


def _offset(index: int, divisor: float = 1.0) -> Callable[[Sequence[int]], float]:
    if divisor == 1.0:
        return lambda words: words[index] - 32768
    return lambda words: (words[index] - 32768) / divisor


def _topp(words: Sequence[int]) -> float:
    permittivity = words[0] / 50
    return (0.0000043 * permittivity ** 3 - 0.00055 * permittivity ** 2
            + 0.0292 * permittivity - 0.053)


_BATTERY = Sensor(1, (Value("battery_voltage", "Battery voltage", lambda w: w[0] / 1000, "V"),))

DL_5TM = (
    Sensor(2, (
        Value("dielectric_permittivity", "Dielectric permittivity", lambda w: w[0] / 50, None),
        Value("volumetric_water_content", "Volumetric water content", _topp, "m³⋅m⁻³"),
        Value("soil_temperature", "Soil temperature", lambda w: (w[1] - 400) / 10, "°C"),
    )),
    _BATTERY,
)

DL_ATM41 = (
    Sensor(17, (
        Value("solar_radiation", "Solar radiation", _offset(0), "W⋅m⁻²"),
        Value("precipitation", "Precipitation", _offset(1, 1000), "mm"),
        Value("lightning_strike_count", "Lightning strike count", _offset(2), None),
        Value("lightning_average_distance", "Lightning average distance", _offset(3), "km"),
        Value("wind_speed", "Wind speed", _offset(4, 100), "m⋅s⁻¹"),
        Value("wind_direction", "Wind direction", _offset(5, 10), "°"),
        Value("maximum_wind_speed", "Maximum wind speed", _offset(6, 100), "m⋅s⁻¹"),
        Value("air_temperature", "Air temperature", _offset(7, 10), "°C"),
        Value("vapor_pressure", "Vapor pressure", _offset(8, 100), "kPa"),
        Value("atmospheric_pressure", "Atmospheric pressure", _offset(9, 100), "kPa"),
        Value("relative_humidity", "Relative humidity", _offset(10, 10), "%"),
        Value("sensor_temperature_internal", "Sensor temperature (internal)", _offset(11, 10),
              "°C"),
        Value("x_orientation_angle", "X orientation angle", _offset(12, 10), "°"),
        Value("y_orientation_angle", "Y orientation angle", _offset(13, 10), "°"),
        Value("compass_heading", "Compass heading", _offset(14), "°"),
        Value("north_wind_speed", "North wind speed", _offset(15, 100), "m⋅s⁻¹"),
        Value("east_wind_speed", "East wind speed", _offset(16, 100), "m⋅s⁻¹"),
    )),
    _BATTERY,
)

DL_TBRG = (
    Sensor(4, (
        Value("precipitation", "Precipitation", lambda w: w[0] * TBRG_RESOLUTION_MM, "mm"),
        Value("precipitation_interval", "Precipitation interval", lambda w: w[1], "s"),
        Value("cumulative_precipitation", "Cumulative precipitation",
              lambda w: (w[2] + w[3] * 65536) * TBRG_RESOLUTION_MM, "mm"),
    )),
    _BATTERY,
)


def decode_v2(model: str, sensors: Sequence[Sensor], port: int, data: bytes) -> dict[str, Any]:
    """Decode a protocol version 2 payload with the sensor groups of one model."""
    check_port(model, port, None)
    if not data:
        raise CodecError(model, "short payload: empty")
    if data[0] != PROTOCOL_VERSION:
        raise CodecError(model, f"protocol version {data[0]} doesn't match v2")
    if len(data) < 5:
        raise CodecError(model, f"short payload: the header needs 5 bytes, got {len(data)} "
                                f"({data.hex()})")

    flags = int.from_bytes(data[3:5], "big")
    present = [sensor for bit, sensor in enumerate(sensors) if flags >> bit & 1]
    needed = 5 + 2 * sum(sensor.words for sensor in present)
    if len(data) < needed:
        raise CodecError(model, f"short payload: flags 0x{flags:04x} announce {needed} bytes, "
                                f"got {len(data)} ({data.hex()})")

    result: dict[str, Any] = {"protocol_version": data[0],
                              "device_id": int.from_bytes(data[1:3], "big")}
    position = 5
    for sensor in present:
        words = [int.from_bytes(data[position + 2 * i:position + 2 * i + 2], "big")
                 for i in range(sensor.words)]
        position += 2 * sensor.words
        for value in sensor.values:
            entry: dict[str, Any] = {"displayName": value.display_name,
                                     "value": value.convert(words)}
            if value.unit is not None:
                entry["unit"] = value.unit
            result[value.name] = entry
    return result


# Vendor field -> (canonical metric, unit when the object does not state one). Fields not listed
# (orientation, compass heading, internal temperature, wind components, cumulative rain, the
# rain interval) describe the device rather than the plot and are not stored.
DL_5TM_FIELDS = {
    "dielectric_permittivity": ("soil_permittivity", None),
    "volumetric_water_content": ("soil_moisture", "m³⋅m⁻³"),
    "soil_temperature": ("soil_temperature", "°C"),
    "battery_voltage": ("battery", "V"),
}
DL_ATM41_FIELDS = {
    "solar_radiation": ("solar_radiation", "W⋅m⁻²"),
    "precipitation": ("rainfall", "mm"),
    "lightning_strike_count": ("lightning_strikes", None),
    "lightning_average_distance": ("lightning_distance", "km"),
    "wind_speed": ("wind_speed", "m⋅s⁻¹"),
    "wind_direction": ("wind_direction", "°"),
    "maximum_wind_speed": ("wind_gust", "m⋅s⁻¹"),
    "air_temperature": ("air_temperature", "°C"),
    "vapor_pressure": ("vapour_pressure", "kPa"),
    "atmospheric_pressure": ("air_pressure", "kPa"),
    "relative_humidity": ("relative_humidity", "%"),
    "battery_voltage": ("battery", "V"),
}
DL_TBRG_FIELDS = {
    "precipitation": ("rainfall", "mm"),
    "battery_voltage": ("battery", "V"),
}


def _codec(name: str, sensors: Sequence[Sensor],
           fields: Mapping[str, tuple[str, str | None]]) -> Codec:
    def decode(port: int, data: bytes) -> dict[str, Any]:
        return decode_v2(name, sensors, port, data)

    def to_readings(obj: Mapping[str, Any]) -> list[Measurement]:
        return measurements_from_fields(obj, fields)

    return Codec(name, decode, to_readings)


DL_5TM_CODEC = _codec("decentlab-dl-5tm", DL_5TM, DL_5TM_FIELDS)
DL_ATM41_CODEC = _codec("decentlab-dl-atm41", DL_ATM41, DL_ATM41_FIELDS)
DL_TBRG_CODEC = _codec("decentlab-dl-tbrg", DL_TBRG, DL_TBRG_FIELDS)
