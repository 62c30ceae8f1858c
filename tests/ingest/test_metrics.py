"""Metric registry: canonical units, conversions, ranges and rejection reasons."""

from __future__ import annotations

import math

import pytest

from vuonso.core.i18n import translate
from vuonso.ingest.errors import DecodeError
from vuonso.ingest.metrics import (
    METRICS,
    UNITS,
    accepted_units,
    canonical_value,
    metric,
    resolve_name,
)

CONVERSIONS = [
    # (metric, raw value, unit beside it, expected value, canonical unit)
    ("air_temperature", 25.1, None, 25.1, "°C"),
    ("air_temperature", "20.6 °C", None, 20.6, "°C"),
    ("air_temperature", "77 °F", None, 25.0, "°C"),
    ("air_temperature", 298.15, "K", 25.0, "°C"),
    ("air_temperature", 21.5, "Cel", 21.5, "°C"),
    ("air_temperature", "  -3.5e1 degC ", None, -35.0, "°C"),
    ("relative_humidity", "68.2%", None, 68.2, "%"),
    ("relative_humidity", 0.682, "/", 68.2, "%"),
    ("relative_humidity", 55, "%RH", 55.0, "%"),
    ("soil_moisture", 0.312, "m3/m3", 31.2, "%"),
    ("soil_moisture", -0.0215397767, "m³⋅m⁻³", -2.15397767, "%"),
    ("soil_moisture_20cm", "31.2 %", None, 31.2, "%"),
    ("soil_ec", "1.2 dS/m", None, 1200.0, "µS/cm"),
    ("soil_ec", 0.5, "mS/cm", 500.0, "µS/cm"),
    ("soil_ec", 0.02, "S/m", 200.0, "µS/cm"),
    ("soil_ec_20cm", 240, "uS/cm", 240.0, "µS/cm"),
    ("battery", "3600 mV", None, 3.6, "V"),
    ("battery", 3.6, "V", 3.6, "V"),
    ("battery_level", 88, "%EL", 88.0, "%"),
    ("air_pressure", 95.96, "kPa", 959.6, "hPa"),
    ("air_pressure", 101325, "Pa", 1013.25, "hPa"),
    ("vapour_pressure", 1.8, "kPa", 18.0, "hPa"),
    ("wind_speed", 36, "km/h", 10.0, "m/s"),
    ("wind_speed", 0.09, "m⋅s⁻¹", 0.09, "m/s"),
    ("wind_direction", math.pi, "rad", 180.0, "°"),
    ("solar_radiation", 10, "W⋅m⁻²", 10.0, "W/m²"),
    ("rainfall", 0.2, "mm", 0.2, "mm"),
    ("rainfall", 0.002, "m", 2.0, "mm"),
    ("lightning_distance", 1500, "m", 1.5, "km"),
]


@pytest.mark.parametrize(("name", "raw", "unit", "expected", "canonical"), CONVERSIONS,
                         ids=[f"{row[0]}-{row[1]}-{row[2]}" for row in CONVERSIONS])
def test_canonical_value_converts(name: str, raw: object, unit: str | None, expected: float,
                                  canonical: str) -> None:
    value, result_unit = canonical_value(name, raw, unit)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert result_unit == canonical


def test_conversion_drops_float_noise() -> None:
    assert canonical_value("soil_ec", "1.2 dS/m")[0] == 1200.0


INVALID = [
    # (metric, raw value, unit, reason code, fragment of the message)
    ("air_temperature", float("nan"), None, "value_not_finite", "not a finite number"),
    ("air_temperature", float("inf"), None, "value_not_finite", "not a finite number"),
    ("air_temperature", "NaN", None, "value_not_finite", "'NaN'"),
    ("air_temperature", "Infinity", None, "value_not_finite", "'Infinity'"),
    ("air_temperature", "-inf °C", None, "value_not_finite", "'-inf °C'"),
    ("air_temperature", 10 ** 400, None, "value_not_finite", "too large"),
    ("air_temperature", True, None, "value_not_numeric", "True is not a number"),
    ("air_temperature", None, None, "value_not_numeric", "None is not a number"),
    ("air_temperature", "warm", None, "value_not_numeric", "'warm' is not a number"),
    ("air_temperature", "20,6 °C", None, "value_not_numeric", "dot as decimal separator"),
    ("air_temperature", "20.6.1", None, "value_not_numeric", "'20.6.1'"),
    ("air_temperature", [20.6], None, "value_not_numeric", "[20.6]"),
    ("air_temperature", "", None, "value_not_numeric", "''"),
    ("air_temperature", 75, None, "value_out_of_range", "-40…60 °C"),
    ("air_temperature", "150 °F", None, "value_out_of_range", "(65.5556 °C)"),
    ("relative_humidity", 101, None, "value_out_of_range", "0…100 %"),
    ("soil_moisture", -5, None, "value_out_of_range", "-3…100 %"),
    ("soil_temperature", -41, None, "value_out_of_range", "-40…85 °C"),
    ("soil_ec", 28200, None, "value_out_of_range", "0…20000 µS/cm"),
    ("air_pressure", 1200, None, "value_out_of_range", "300…1100 hPa"),
    ("battery", "3600 V", None, "value_out_of_range", "0…5 V"),
    ("air_temperature", 20, "hPa", "unit_unknown", "cannot be converted to °C"),
    ("soil_ec", "1.2 mmho", None, "unit_unknown", "'mmho'"),
    ("relative_humidity", 0.5, "m3/m3", "unit_unknown", "use one of"),
    ("air_temperature", "20 °C", "K", "unit_mismatch", "written in '°C' but its unit is 'K'"),
    ("leaf_colour", 1, None, "metric_unknown", "unknown metric 'leaf_colour'"),
    ("air_temperature_20cm", 1, None, "metric_unknown", "'air_temperature_20cm'"),
    ("soil_moisture_0cm", 1, None, "metric_unknown", "'soil_moisture_0cm'"),
]


@pytest.mark.parametrize(("name", "raw", "unit", "reason", "fragment"), INVALID,
                         ids=[f"{row[3]}-{row[0]}-{row[1]!r}" for row in INVALID])
def test_canonical_value_rejects(name: str, raw: object, unit: str | None, reason: str,
                                 fragment: str) -> None:
    with pytest.raises(DecodeError) as caught:
        canonical_value(name, raw, unit)
    assert caught.value.reason_code == reason
    assert fragment in caught.value.message
    for language in ("vi", "en"):
        text = translate(caught.value.key, language, **caught.value.params)
        assert text != caught.value.key, f"{reason} missing from the {language} catalog"
        assert "{" not in text, f"{reason} in {language} needs parameters it was not given"


def test_range_bounds_are_inclusive() -> None:
    assert canonical_value("relative_humidity", 100)[0] == 100.0
    assert canonical_value("relative_humidity", 0)[0] == 0.0


def test_depth_suffix_keeps_base_unit_and_range() -> None:
    found = metric("soil_temperature_50cm")
    assert found.name == "soil_temperature_50cm"
    assert found.unit == "°C"
    assert (found.minimum, found.maximum) == (-40.0, 85.0)


def test_depth_suffix_only_on_soil_metrics() -> None:
    with pytest.raises(DecodeError) as caught:
        metric("rainfall_20cm")
    assert caught.value.reason_code == "metric_unknown"


def test_every_metric_unit_is_first_of_its_quantity() -> None:
    for found in METRICS.values():
        assert next(iter(UNITS[found.quantity])) == found.unit, found.name
        assert found.minimum < found.maximum, found.name


def test_accepted_units_list_extras() -> None:
    assert "m3/m3" in accepted_units(metric("soil_moisture"))
    assert "m3/m3" not in accepted_units(metric("relative_humidity"))


def test_resolve_name_aliases_and_battery() -> None:
    assert resolve_name("temperature") == "air_temperature"
    assert resolve_name("humidity") == "relative_humidity"
    assert resolve_name("battery", "V") == "battery"
    assert resolve_name("battery", "%EL") == "battery_level"
    assert resolve_name("battery") == "battery"
    assert resolve_name("soil_moisture_20cm") == "soil_moisture_20cm"
