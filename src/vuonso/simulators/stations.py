"""State of one simulated station between reports: soil water, leaf wetness, the rain gauge's
bucket, sensor drift and battery.

`StationState.advance` integrates the weather over the time since the last report in steps of
at most ten minutes, so rain that fell between two reports still reaches the soil and the gauge.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from vuonso.simulators.corps import StationSpec
from vuonso.simulators.weather import LOCAL_TZ, Climate, diurnal_shape, is_rainy_season

TIP_MM = 0.2  # rain per tip of the tipping bucket
STEP = timedelta(minutes=10)
MAX_CATCH_UP = timedelta(hours=36)  # older soil-water anomalies have decayed anyway
# Metrics every native (JSON or SenML) station reports, in canonical units.
NATIVE_METRICS = (
    "air_temperature",
    "relative_humidity",
    "soil_moisture_20cm",
    "soil_moisture_50cm",
    "soil_temperature",
    "rainfall",
    "leaf_wetness",
    "battery",
)
SATURATION_20CM_PCT = 50.0  # basalt clay above field capacity (about 46 %) drains within hours
SATURATION_50CM_PCT = 48.0
TAU_20CM_H = 60.0  # e-folding time of a wet anomaly at 20 cm
TAU_50CM_H = 200.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One report of a station: device time (local offset) and values in canonical units.

    `values` contains every quantity the simulator models; each transport sends the subset its
    device measures. `rain_tips` is the tipping-bucket count behind `values["rainfall"]`,
    `rain_total_mm` the gauge's total since the simulation started, and `interval_s` the time
    since the previous report.
    """

    time: datetime
    values: dict[str, float]
    rain_tips: int
    rain_total_mm: float
    interval_s: float


@dataclass(frozen=True, slots=True)
class SensorTraits:
    """Fixed per-station errors and properties, drawn once from the seed."""

    soil_offset_20cm: float
    soil_offset_50cm: float
    air_bias_c: float
    humidity_bias_pct: float
    moisture_drift_per_day: float
    temperature_drift_per_day: float
    battery_start_v: float
    clock_skew_s: float
    installed: datetime
    ec_offset: float


def draw_traits(spec: StationSpec, seed: int) -> SensorTraits:
    rng = random.Random(f"{seed}:traits:{spec.device_id}")
    low_battery = rng.random() < 0.05
    return SensorTraits(
        soil_offset_20cm=rng.uniform(-3, 3),
        soil_offset_50cm=rng.uniform(-2.5, 2.5),
        air_bias_c=rng.uniform(-0.3, 0.3),
        humidity_bias_pct=rng.uniform(-2, 2),
        moisture_drift_per_day=rng.uniform(-0.015, 0.015),
        temperature_drift_per_day=rng.uniform(-0.002, 0.002),
        battery_start_v=rng.uniform(3.05, 3.3) if low_battery else rng.uniform(3.45, 3.67),
        clock_skew_s=rng.uniform(-3, 3),
        installed=datetime(2024, 6, 1, tzinfo=LOCAL_TZ) + timedelta(days=rng.randint(0, 300)),
        ec_offset=rng.uniform(-30, 30),
    )


def report_offset(device_id: str, interval: timedelta) -> timedelta:
    """Return the fixed delay of a station's reports after the start of each reporting interval.

    The delay is a CRC-32 of the device id modulo the interval, in whole seconds, so it is the
    same in every run and spreads the stations over the interval. An interval shorter than one
    second gives no delay.
    """
    seconds = int(interval.total_seconds())
    if seconds < 1:
        return timedelta(0)
    return timedelta(seconds=zlib.crc32(device_id.encode("utf-8")) % seconds)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _leaf_wetness_target(rain_mm_h: float, humidity_pct: float) -> float:
    if rain_mm_h > 0.1 or humidity_pct >= 96:
        return 100.0
    if humidity_pct >= 86:
        return (humidity_pct - 86) * 10
    return 0.0


class StationState:
    """Everything a station carries from one report to the next."""

    def __init__(self, spec: StationSpec, climate: Climate, seed: int) -> None:
        self.spec = spec
        self.climate = climate
        self.traits = draw_traits(spec, seed)
        self.noise = random.Random(f"{seed}:noise:{spec.device_id}")
        self.last_time: datetime | None = None
        self.wet_20cm = 0.0
        self.wet_50cm = 0.0
        self.leaf_wetness = 0.0
        self.bucket_mm = 0.0
        self.rain_total_mm = 0.0

    def _step(self, moment: datetime, hours: float) -> None:
        spec = self.spec
        conditions = self.climate.conditions(spec.lon, spec.lat, spec.elevation_m, moment)
        rain_mm = conditions.rain_rate_mm_h * hours
        self.bucket_mm += rain_mm

        # A closed rubber canopy (about four years after planting) intercepts some of the rain.
        interception = 0.15 if moment.year - spec.planting_year >= 4 else 0.05
        # 1 mm of water in the top 30 cm is about 0.33 % VWC; part of the anomaly drains to 50 cm.
        room_20 = SATURATION_20CM_PCT - conditions.soil_20cm_pct - self.wet_20cm
        self.wet_20cm += min(max(room_20, 0.0), rain_mm * (1 - interception) * 0.30)
        drained = self.wet_20cm * (1 - math.exp(-hours / TAU_20CM_H))
        self.wet_20cm -= drained
        room_50 = SATURATION_50CM_PCT - conditions.soil_50cm_pct - self.wet_50cm
        self.wet_50cm += min(max(room_50, 0.0), drained * 0.5)
        self.wet_50cm *= math.exp(-hours / TAU_50CM_H)

        target = _leaf_wetness_target(conditions.rain_rate_mm_h, conditions.relative_humidity_pct)
        tau_h = 0.2 if target > self.leaf_wetness else 0.75
        self.leaf_wetness += (target - self.leaf_wetness) * (1 - math.exp(-hours / tau_h))

    def advance(self, until: datetime) -> Sample:
        """Integrate the weather up to `until` and return the report the station makes then."""
        start = self.last_time or until - STEP
        interval_s = (until - start).total_seconds()
        if until - start > MAX_CATCH_UP:
            start = until - MAX_CATCH_UP
        moment = start
        while moment < until:
            step = min(STEP, until - moment)
            self._step(moment + step / 2, step.total_seconds() / 3600)
            moment += step
        self.last_time = until
        return self._sample(until, interval_s)

    def _sample(self, moment: datetime, interval_s: float) -> Sample:
        spec, traits, noise = self.spec, self.traits, self.noise
        conditions = self.climate.conditions(spec.lon, spec.lat, spec.elevation_m, moment)
        local = moment.astimezone(LOCAL_TZ)
        hour = local.hour + local.minute / 60
        days = max(0.0, (moment - traits.installed).total_seconds() / 86_400)
        moisture_drift = _clamp(traits.moisture_drift_per_day * days, -3.0, 3.0)
        temperature_drift = _clamp(traits.temperature_drift_per_day * days, -0.8, 0.8)

        tips = math.floor(self.bucket_mm / TIP_MM + 1e-9)
        self.bucket_mm -= tips * TIP_MM
        self.rain_total_mm += tips * TIP_MM
        air = conditions.air_temperature_c + traits.air_bias_c + temperature_drift + noise.gauss(0, 0.08)
        moisture_20 = (conditions.soil_20cm_pct + traits.soil_offset_20cm + self.wet_20cm
                       - 0.5 * diurnal_shape(hour) + moisture_drift + noise.gauss(0, 0.1))
        moisture_50 = (conditions.soil_50cm_pct + traits.soil_offset_50cm + self.wet_50cm
                       + moisture_drift / 2 + noise.gauss(0, 0.08))
        # At 20 cm the daily wave is damped to about 1.3 °C and arrives some three hours late.
        soil_temperature = (conditions.daily_mean_c + 1.0 + 1.3 * (diurnal_shape((hour - 3) % 24) - 0.5)
                            - 0.04 * self.wet_20cm + noise.gauss(0, 0.05))
        battery = (traits.battery_start_v - 0.00012 * days + 0.0015 * (conditions.air_temperature_c - 25)
                   + noise.gauss(0, 0.003))
        values = {
            "air_temperature": round(air, 2),
            "relative_humidity": round(_clamp(conditions.relative_humidity_pct + traits.humidity_bias_pct
                                              + noise.gauss(0, 0.8), 5.0, 100.0), 1),
            "soil_moisture_20cm": round(_clamp(moisture_20, 2.0, 60.0), 2),
            "soil_moisture_50cm": round(_clamp(moisture_50, 2.0, 60.0), 2),
            "soil_temperature": round(soil_temperature, 2),
            "rainfall": round(tips * TIP_MM, 1),
            "leaf_wetness": round(_clamp(self.leaf_wetness + noise.gauss(0, 0.5), 0.0, 100.0), 1),
            "battery": round(_clamp(battery, 2.5, 3.7), 3),
            "soil_ec": round(max(10.0, 6.0 * moisture_20 - 60 + traits.ec_offset), 0),
            **_atmosphere(conditions.air_temperature_c, conditions.relative_humidity_pct,
                          conditions.rain_rate_mm_h, spec.elevation_m, local, noise),
        }
        # Millisecond resolution keeps fast runs (several reports a second) from repeating a time.
        device_time = (moment + timedelta(seconds=traits.clock_skew_s)).astimezone(LOCAL_TZ)
        device_time = device_time.replace(microsecond=device_time.microsecond // 1000 * 1000)
        return Sample(device_time, values, tips, round(self.rain_total_mm, 1), interval_s)


def _atmosphere(temperature_c: float, humidity_pct: float, rain_mm_h: float, elevation_m: float,
                local: datetime, noise: random.Random) -> dict[str, float]:
    """Pressure, vapour pressure, wind and sunlight for weather-station models."""
    hour = local.hour + local.minute / 60
    rainy = is_rainy_season(local.month)
    # Barometric formula plus the semidiurnal tide (peaks near 10:00 and 22:00, about 1.5 hPa).
    pressure = 1013.25 * (1 - 2.25577e-5 * elevation_m) ** 5.25588 + 1.5 * math.cos(
        math.pi * (hour - 10) / 6)
    saturation = 6.112 * math.exp(17.62 * temperature_c / (243.12 + temperature_c))
    daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12.5))
    clearness = 0.6 if rainy else 0.9
    if rain_mm_h > 0.1:
        clearness *= 0.25
    # North-east monsoon in the dry season, light south-westerlies in the rains; windier by day.
    base_speed, direction = (2.0, 245.0) if rainy else (3.5, 65.0)
    speed = max(0.0, base_speed * (0.6 + 0.9 * daylight) + noise.gauss(0, 0.4) + 0.15 * rain_mm_h)
    return {
        "air_pressure": round(pressure + noise.gauss(0, 0.2), 1),
        "vapour_pressure": round(saturation * humidity_pct / 100, 2),
        "wind_speed": round(speed, 2),
        "wind_gust": round(speed * 1.6 + abs(noise.gauss(0, 0.5)), 2),
        "wind_direction": round((direction + noise.gauss(0, 25)) % 360, 1),
        "solar_radiation": round(1000 * daylight**1.15 * clearness * (0.9 + 0.1 * noise.random())),
    }
