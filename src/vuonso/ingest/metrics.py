"""Canonical metric registry: one unit and one valid range per metric, plus unit conversion.

Every reading is stored in its metric's canonical unit. `canonical_value` turns a raw value (a
number, a numeric string, or a string with a unit such as "77 °F" or "1.2 dS/m") into that unit
and checks the range. It raises `DecodeError` with one of these reason codes:
metric_unknown, value_not_numeric, value_not_finite, unit_unknown, unit_mismatch,
value_out_of_range.

Soil metrics take an optional depth suffix in whole centimetres (`soil_moisture_20cm`). The
suffixed name shares the unit and range of its base metric.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from vuonso.ingest.errors import DecodeError

Converter = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Metric:
    """A measured quantity with its canonical unit and the range a valid reading falls in."""

    name: str
    unit: str
    minimum: float
    maximum: float
    quantity: str  # key into UNITS: which units convert to `unit`
    extra_units: tuple[str, ...] = ()  # units of UNITS_EXTRA valid for this metric only
    depth_suffix: bool = False


def _scale(factor: float, offset: float = 0.0) -> Converter:
    return lambda value: value * factor + offset


def _identity(value: float) -> float:
    return value


def _fahrenheit(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


# Units per quantity, spelled as they appear in payloads (UCUM, SenML, vendor decoders). They are
# looked up after `_unit_key` folds case and spacing. The first entry is the canonical unit.
UNITS: dict[str, dict[str, Converter]] = {
    "temperature": {
        "°C": _identity, "℃": _identity, "ºC": _identity, "C": _identity, "Cel": _identity,
        "degC": _identity, "deg C": _identity, "celsius": _identity,
        "°F": _fahrenheit, "℉": _fahrenheit, "F": _fahrenheit, "degF": _fahrenheit,
        "fahrenheit": _fahrenheit, "K": _scale(1.0, -273.15), "kelvin": _scale(1.0, -273.15),
    },
    "percent": {"%": _identity, "percent": _identity, "%RH": _identity, "/": _scale(100.0)},
    "conductivity": {
        "µS/cm": _identity, "μS/cm": _identity, "uS/cm": _identity, "mS/cm": _scale(1000.0),
        "dS/m": _scale(1000.0), "mS/m": _scale(10.0), "S/m": _scale(10_000.0),
    },
    "voltage": {"V": _identity, "mV": _scale(0.001)},
    "pressure": {
        "hPa": _identity, "mbar": _identity, "Pa": _scale(0.01), "kPa": _scale(10.0),
        "bar": _scale(1000.0),
    },
    "precipitation": {"mm": _identity, "cm": _scale(10.0), "m": _scale(1000.0),
                      "in": _scale(25.4)},
    "speed": {"m/s": _identity, "m⋅s⁻¹": _identity, "m·s⁻¹": _identity, "km/h": _scale(1 / 3.6),
              "kn": _scale(1852 / 3600)},
    "angle": {"°": _identity, "deg": _identity, "rad": _scale(180.0 / math.pi)},
    "irradiance": {"W/m²": _identity, "W/m2": _identity, "W⋅m⁻²": _identity,
                   "W·m⁻²": _identity},
    "distance": {"km": _identity, "m": _scale(0.001)},
    "count": {"1": _identity, "count": _identity},
}

# Units that only make sense for some metrics of a quantity, named in Metric.extra_units.
UNITS_EXTRA: dict[str, Converter] = {
    "m3/m3": _scale(100.0), "m³/m³": _scale(100.0), "m³⋅m⁻³": _scale(100.0),
    "m³·m⁻³": _scale(100.0), "cm3/cm3": _scale(100.0),
    "%EL": _identity,
}

_VWC_UNITS = ("m3/m3", "m³/m³", "m³⋅m⁻³", "m³·m⁻³", "cm3/cm3")

METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("air_temperature", "°C", -40.0, 60.0, "temperature"),
        Metric("relative_humidity", "%", 0.0, 100.0, "percent"),
        Metric("air_pressure", "hPa", 300.0, 1100.0, "pressure"),
        # Saturation vapour pressure at 60 °C, the top of the air temperature range, is 199 hPa.
        Metric("vapour_pressure", "hPa", 0.0, 200.0, "pressure"),
        # Dielectric probes read slightly below zero in air: the Topp equation that DL-5TM uses
        # gives -2.4 % at a permittivity of 1, so the floor leaves room for that.
        Metric("soil_moisture", "%", -3.0, 100.0, "percent", _VWC_UNITS, depth_suffix=True),
        Metric("soil_temperature", "°C", -40.0, 85.0, "temperature", depth_suffix=True),
        Metric("soil_ec", "µS/cm", 0.0, 20_000.0, "conductivity", depth_suffix=True),
        # Relative dielectric permittivity: 1 in air, about 80 in water.
        Metric("soil_permittivity", "1", 1.0, 100.0, "count", depth_suffix=True),
        # Amount per report interval. The bound is above the world 24-hour record (1,825 mm).
        Metric("rainfall", "mm", 0.0, 2000.0, "precipitation"),
        Metric("leaf_wetness", "%", 0.0, 100.0, "percent"),
        # Sunlit leaves can run about 10 °C above the air (an estimate), so the top is raised.
        Metric("leaf_temperature", "°C", -40.0, 70.0, "temperature"),
        Metric("battery", "V", 0.0, 5.0, "voltage"),
        Metric("battery_level", "%", 0.0, 100.0, "percent", ("%EL",)),
        # Wind bounds sit above the highest gust on record (113 m/s, Barrow Island 1996).
        Metric("wind_speed", "m/s", 0.0, 120.0, "speed"),
        Metric("wind_gust", "m/s", 0.0, 120.0, "speed"),
        Metric("wind_direction", "°", 0.0, 360.0, "angle"),
        # The solar constant is 1,361 W/m². The bound leaves room for brief cloud-edge peaks.
        Metric("solar_radiation", "W/m²", 0.0, 2000.0, "irradiance"),
        Metric("lightning_strikes", "1", 0.0, 65_535.0, "count"),
        Metric("lightning_distance", "km", 0.0, 100.0, "distance"),
    )
}

# Common names of other sources mapped to canonical metrics (SenML names, network-server codecs).
ALIASES: dict[str, str] = {
    "temperature": "air_temperature",
    "temp": "air_temperature",
    "humidity": "relative_humidity",
    "pressure": "air_pressure",
    "barometric_pressure": "air_pressure",
    "rain": "rainfall",
    "precipitation": "rainfall",
    "battery_voltage": "battery",
    "wind_direction_deg": "wind_direction",
}

_DEPTH = re.compile(r"^(?P<base>[a-z_]+)_(?P<depth>[1-9][0-9]{0,2})cm$")
_NUMBER = re.compile(r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>.*)$")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity",
               "-infinity"}
_PERCENT_UNITS = {"%", "%el", "percent"}


def _unit_key(unit: str) -> str:
    return " ".join(unit.split()).casefold()


_FOLDED: dict[str, dict[str, Converter]] = {
    quantity: {_unit_key(unit): convert for unit, convert in units.items()}
    for quantity, units in UNITS.items()
}
_FOLDED_EXTRA: dict[str, Converter] = {_unit_key(unit): convert
                                       for unit, convert in UNITS_EXTRA.items()}


def metric(name: str) -> Metric:
    """Return the metric called `name`, resolving a depth suffix such as `_20cm`."""
    found = METRICS.get(name)
    if found is not None:
        return found
    match = _DEPTH.match(name)
    if match:
        base = METRICS.get(match["base"])
        if base is not None and base.depth_suffix:
            return Metric(name, base.unit, base.minimum, base.maximum, base.quantity,
                          base.extra_units, depth_suffix=False)
    raise DecodeError(
        "metric_unknown",
        f"unknown metric {name!r}; use one of {sorted(METRICS)} "
        "(soil metrics may end in a depth such as _20cm)",
        metric=name,
    )


def resolve_name(name: str, unit: str | None = None) -> str:
    """Map an alias (`temperature`, `battery` ...) to a canonical metric name.

    `battery` means the voltage unless the unit is a percentage, then it is `battery_level`.
    Names that are neither canonical nor aliases are returned unchanged, so `metric` rejects them.
    """
    if name in ("battery", "bat"):
        if unit is not None and _unit_key(unit) in _PERCENT_UNITS:
            return "battery_level"
        return "battery"
    return ALIASES.get(name, name)


def accepted_units(found: Metric) -> list[str]:
    """List the unit spellings `canonical_value` converts for a metric."""
    return list(UNITS[found.quantity]) + list(found.extra_units)


def _parse_number(name: str, raw: object) -> tuple[float, str | None]:
    """Split a raw value into a float and the unit written after it, if any."""
    if isinstance(raw, bool) or raw is None:
        raise DecodeError("value_not_numeric", f"{name}: {raw!r} is not a number",
                          metric=name, value=repr(raw))
    if isinstance(raw, int | float):
        try:
            return float(raw), None
        except OverflowError:
            raise DecodeError("value_not_finite", f"{name}: {raw!r} is too large to store",
                              metric=name, value=repr(raw)) from None
    if not isinstance(raw, str):
        raise DecodeError("value_not_numeric",
                          f"{name}: {raw!r} is not a number; send a number or a string "
                          "such as \"20.6 °C\"", metric=name, value=repr(raw))

    text = raw.strip()
    word = text.split()[0].casefold() if text else ""
    if word in _NOT_FINITE:
        raise DecodeError("value_not_finite", f"{name}: {raw!r} is not a finite number",
                          metric=name, value=repr(raw))
    match = _NUMBER.match(text)
    if match is None or match["unit"][:1] in {",", ".", "+", "-"} or \
            match["unit"][:1].isdigit():
        raise DecodeError("value_not_numeric",
                          f"{name}: {raw!r} is not a number; write a number with a dot as "
                          "decimal separator, optionally followed by a unit (\"20.6 °C\")",
                          metric=name, value=repr(raw))
    return float(match["number"]), match["unit"] or None


def _converter(found: Metric, unit: str) -> Converter:
    key = _unit_key(unit)
    convert = _FOLDED[found.quantity].get(key)
    if convert is None and key in {_unit_key(extra) for extra in found.extra_units}:
        convert = _FOLDED_EXTRA[key]
    if convert is None:
        raise DecodeError(
            "unit_unknown",
            f"{found.name}: unit {unit!r} cannot be converted to {found.unit}; "
            f"use one of {accepted_units(found)}",
            metric=found.name, unit=unit, expected=found.unit,
        )
    return convert


def canonical_value(name: str, raw: object, unit: str | None = None) -> tuple[float, str]:
    """Convert a raw value of metric `name` to (value, canonical unit), checking its range.

    `unit` is the unit stated beside the value, such as a SenML `u` or a vendor field's unit. A
    unit written inside a string value must agree with it. A value without any unit is taken to
    be in the canonical unit already.
    """
    found = metric(name)
    number, written_unit = _parse_number(name, raw)
    if written_unit is not None and unit is not None and \
            _unit_key(written_unit) != _unit_key(unit):
        raise DecodeError(
            "unit_mismatch",
            f"{name}: value {raw!r} is written in {written_unit!r} but its unit is {unit!r}; "
            "send the unit in one place only",
            metric=name, value=repr(raw), unit=unit,
        )
    unit = written_unit or unit
    if not math.isfinite(number):
        raise DecodeError("value_not_finite", f"{name}: {raw!r} is not a finite number",
                          metric=name, value=repr(raw))

    value = number
    if unit is not None and unit.strip():
        convert = _converter(found, unit)
        if convert is not _identity:
            # Keep 12 significant digits so that 1.2 dS/m is stored as 1200, not 1200.0000000002.
            value = float(f"{convert(number):.12g}")
    if not found.minimum <= value <= found.maximum:
        described = f"{raw!r}" if value == number else f"{raw!r} ({value:g} {found.unit})"
        raise DecodeError(
            "value_out_of_range",
            f"{name}: {described} is outside the valid range "
            f"{found.minimum:g}…{found.maximum:g} {found.unit}; check the sensor and its unit",
            metric=name, value=repr(raw), minimum=f"{found.minimum:g}",
            maximum=f"{found.maximum:g}", unit=found.unit,
        )
    return value, found.unit
