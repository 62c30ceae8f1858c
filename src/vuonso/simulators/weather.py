"""Climate of western Gia Lai for the simulators: seasonal normals, diurnal cycles and moving
storm cells.

Every value is a pure function of (seed, position, time), so a backfill of past days and a live run
started later see the same weather, and two plots a few kilometres apart share the same storm.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
REFERENCE_ELEVATION_M = 500.0
LAPSE_RATE_C_PER_M = 0.006

# Origin of the local kilometre frame used for storm cells (between Đức Cơ, Chư Prông and Ia Grai).
FRAME_LON = 107.85
FRAME_LAT = 13.90
KM_PER_DEGREE_LAT = 110.574
KM_PER_DEGREE_LON = 111.320 * math.cos(math.radians(FRAME_LAT))
# Storm cells are born anywhere in this square (km from the origin): the demo area plus a margin,
# so that cells drift in from outside as often as they drift out.
DOMAIN_HALF_WIDTH_KM = 60.0
DOMAIN_AREA_KM2 = (2 * DOMAIN_HALF_WIDTH_KM) ** 2
STORM_WINDOW_S = 3_600
CELL_SIGMA_KM = (2.5, 6.5)
CELL_PEAK_MM_H = (10.0, 60.0)
CELL_DURATION_H = (0.75, 2.5)


@dataclass(frozen=True, slots=True)
class MonthNormals:
    """Typical values of one month at the reference elevation (all estimates)."""

    tmin_c: float
    tmax_c: float
    dewpoint_c: float
    rain_mm: float
    soil_20cm_pct: float
    soil_50cm_pct: float


# Estimates for 400-600 m west of the Trường Sơn. About 2,200 mm of rain fall a year, from May to
# October, mostly in afternoon and evening storms. Dry-season afternoons reach 35-50 % RH and the
# mornings are foggy. Basalt soils dry to 22-30 % VWC at 20 cm late in the dry season and stay at
# 35-48 % in the rains.
NORMALS: tuple[MonthNormals, ...] = (
    MonthNormals(14.0, 28.5, 13.5, 3.0, 29.0, 33.0),  # January
    MonthNormals(15.0, 31.5, 14.0, 8.0, 26.0, 31.0),
    MonthNormals(17.5, 32.5, 16.0, 30.0, 24.0, 29.0),
    MonthNormals(20.0, 33.0, 18.5, 100.0, 26.0, 29.0),
    MonthNormals(21.5, 32.0, 21.0, 250.0, 34.0, 33.0),
    MonthNormals(21.5, 30.5, 21.0, 350.0, 39.0, 38.0),
    MonthNormals(21.0, 29.5, 21.0, 400.0, 42.0, 41.0),
    MonthNormals(21.0, 29.0, 21.0, 450.0, 44.0, 43.0),
    MonthNormals(21.0, 29.5, 21.0, 350.0, 44.0, 44.0),
    MonthNormals(20.0, 29.0, 20.0, 200.0, 42.0, 43.0),
    MonthNormals(17.5, 28.5, 17.0, 60.0, 37.0, 40.0),
    MonthNormals(14.5, 28.5, 15.0, 15.0, 32.0, 36.0),  # December
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class Conditions:
    """Weather at one place and time, before any sensor error."""

    air_temperature_c: float
    relative_humidity_pct: float
    rain_rate_mm_h: float
    soil_20cm_pct: float
    soil_50cm_pct: float
    daily_mean_c: float


@dataclass(frozen=True, slots=True)
class StormCell:
    """A rain cell with a Gaussian footprint drifting at constant velocity."""

    start_s: float
    duration_s: float
    x_km: float
    y_km: float
    vx_km_s: float
    vy_km_s: float
    sigma_km: float
    peak_mm_h: float

    def rate_at(self, x_km: float, y_km: float, epoch_s: float) -> float:
        """Rain rate in mm/h at a point; zero outside the cell's lifetime or beyond 3 sigma."""
        elapsed = epoch_s - self.start_s
        if elapsed < 0 or elapsed > self.duration_s:
            return 0.0
        dx = x_km - (self.x_km + self.vx_km_s * elapsed)
        dy = y_km - (self.y_km + self.vy_km_s * elapsed)
        distance2 = dx * dx + dy * dy
        if distance2 > 9 * self.sigma_km * self.sigma_km:
            return 0.0
        envelope = math.sin(math.pi * elapsed / self.duration_s)
        return self.peak_mm_h * envelope * math.exp(-distance2 / (2 * self.sigma_km**2))


def to_frame(lon: float, lat: float) -> tuple[float, float]:
    """Project lon/lat to kilometres east and north of the frame origin (equirectangular)."""
    return (lon - FRAME_LON) * KM_PER_DEGREE_LON, (lat - FRAME_LAT) * KM_PER_DEGREE_LAT


def is_rainy_season(month: int) -> bool:
    return 5 <= month <= 10


def diurnal_shape(hour: float) -> float:
    """0 at the daily minimum (06:00) and 1 at the maximum (14:30), cosine in between."""
    rise_start, peak = 6.0, 14.5
    if rise_start <= hour < peak:
        return 0.5 - 0.5 * math.cos(math.pi * (hour - rise_start) / (peak - rise_start))
    since_peak = (hour - peak) % 24.0
    return 0.5 + 0.5 * math.cos(math.pi * since_peak / (24.0 - (peak - rise_start)))


def saturation_vapour_pressure_hpa(temperature_c: float) -> float:
    """Magnus formula over water."""
    return 6.112 * math.exp(17.62 * temperature_c / (243.12 + temperature_c))


def relative_humidity(temperature_c: float, dewpoint_c: float) -> float:
    ratio = saturation_vapour_pressure_hpa(dewpoint_c) / saturation_vapour_pressure_hpa(temperature_c)
    return min(100.0, 100.0 * ratio)


def _hour_weights(rainy: bool) -> tuple[float, ...]:
    # Rainy-season storms come mostly in the afternoon and evening; dry-season showers are rare and
    # spread more evenly.
    if rainy:
        raw = [0.35 + 2.5 * math.exp(-(((h - 17.5) / 3.0) ** 2)) for h in range(24)]
    else:
        raw = [1.0 + 0.5 * math.exp(-(((h - 16.0) / 4.0) ** 2)) for h in range(24)]
    total = sum(raw)
    return tuple(w / total for w in raw)


_HOUR_WEIGHTS = {True: _hour_weights(True), False: _hour_weights(False)}


def _mean_cell_rain_mm() -> float:
    """Expected rain one cell leaves on a random point of the domain (mm)."""
    mean_peak = sum(CELL_PEAK_MM_H) / 2
    low, high = CELL_SIGMA_KM
    mean_sigma2 = (high**3 - low**3) / (3 * (high - low))
    mean_hours = sum(CELL_DURATION_H) / 2
    # A half-sine envelope averages 2/pi of its peak.
    return mean_peak * 2 * math.pi * mean_sigma2 * mean_hours * (2 / math.pi) / DOMAIN_AREA_KM2


_MEAN_CELL_RAIN_MM = _mean_cell_rain_mm()


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the means used here stay below about 10."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class Climate:
    """Deterministic weather for the demo area; one instance per simulation seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cells: dict[int, tuple[StormCell, ...]] = {}
        self._daily: dict[tuple[str, int], float] = {}

    def normals(self, moment: datetime) -> MonthNormals:
        """Month normals interpolated linearly between mid-month values."""
        local = moment.astimezone(LOCAL_TZ)
        days = _DAYS_IN_MONTH[local.month - 1]
        position = local.month - 1 + (local.day - 1 + local.hour / 24) / days - 0.5
        lower = math.floor(position)
        weight = position - lower
        a, b = NORMALS[lower % 12], NORMALS[(lower + 1) % 12]
        return MonthNormals(*(
            (1 - weight) * getattr(a, field.name) + weight * getattr(b, field.name)
            for field in fields(MonthNormals)
        ))

    def daily_noise(self, moment: datetime, name: str) -> float:
        """Return a region-wide anomaly in [-1, 1] for one day, blended into the next for continuity."""
        local = moment.astimezone(LOCAL_TZ)
        day = local.date().toordinal()
        fraction = (local.hour * 3600 + local.minute * 60 + local.second) / 86_400
        return (1 - fraction) * self._day_value(name, day) + fraction * self._day_value(name, day + 1)

    def _day_value(self, name: str, day: int) -> float:
        key = (name, day)
        value = self._daily.get(key)
        if value is None:
            if len(self._daily) > 4_096:
                self._daily.clear()
            value = self._daily[key] = random.Random(f"{self.seed}:{name}:{day}").uniform(-1.0, 1.0)
        return value

    def storm_cells(self, window: int) -> tuple[StormCell, ...]:
        """Return the cells born in one hour-long window, generated once per window and cached."""
        cached = self._cells.get(window)
        if cached is not None:
            return cached
        if len(self._cells) > 2_048:
            self._cells.clear()
        start = window * STORM_WINDOW_S
        local = datetime.fromtimestamp(start, LOCAL_TZ)
        normals = NORMALS[local.month - 1]
        rainy = is_rainy_season(local.month)
        daily_mm = normals.rain_mm / _DAYS_IN_MONTH[local.month - 1]
        expected_mm = daily_mm * _HOUR_WEIGHTS[rainy][local.hour] * self._regime(local.date().toordinal())

        rng = random.Random(f"{self.seed}:storm:{window}")
        cells = []
        for _ in range(_poisson(rng, expected_mm / _MEAN_CELL_RAIN_MM)):
            if rainy:  # south-west monsoon: cells drift towards the east-north-east
                vx, vy = rng.uniform(10, 30), rng.uniform(0, 12)
            else:  # north-east monsoon: towards the west-south-west
                vx, vy = -rng.uniform(8, 25), -rng.uniform(2, 12)
            cells.append(StormCell(
                start_s=start + rng.uniform(0, STORM_WINDOW_S),
                duration_s=rng.uniform(*CELL_DURATION_H) * 3600,
                x_km=rng.uniform(-DOMAIN_HALF_WIDTH_KM, DOMAIN_HALF_WIDTH_KM),
                y_km=rng.uniform(-DOMAIN_HALF_WIDTH_KM, DOMAIN_HALF_WIDTH_KM),
                vx_km_s=vx / 3600,
                vy_km_s=vy / 3600,
                sigma_km=rng.uniform(*CELL_SIGMA_KM),
                peak_mm_h=rng.uniform(*CELL_PEAK_MM_H),
            ))
        self._cells[window] = tuple(cells)
        return self._cells[window]

    def _regime(self, day: int) -> float:
        """Rain multiplier of one day over the whole area: some days are dry everywhere (a monsoon
        break), the others rain more, so the month's expected total stays the same."""
        month = datetime.fromordinal(day).month
        dry_chance = 0.2 if is_rainy_season(month) else 0.6
        if (self._day_value("regime", day) + 1) / 2 < dry_chance:
            return 0.0
        return 1.0 / (1.0 - dry_chance)

    def rain_rate(self, lon: float, lat: float, moment: datetime) -> float:
        """Rain rate in mm/h at a point, summed over every live storm cell."""
        epoch = moment.timestamp()
        x_km, y_km = to_frame(lon, lat)
        last = math.floor(epoch / STORM_WINDOW_S)
        first = math.floor((epoch - CELL_DURATION_H[1] * 3600 - STORM_WINDOW_S) / STORM_WINDOW_S)
        return sum(
            cell.rate_at(x_km, y_km, epoch)
            for window in range(first, last + 1)
            for cell in self.storm_cells(window)
        )

    def conditions(self, lon: float, lat: float, elevation_m: float, moment: datetime) -> Conditions:
        """Air and soil conditions at a point; rain cools the air and saturates it."""
        local = moment.astimezone(LOCAL_TZ)
        normals = self.normals(moment)
        lapse = LAPSE_RATE_C_PER_M * (elevation_m - REFERENCE_ELEVATION_M)
        tmin = normals.tmin_c - lapse + 1.5 * self.daily_noise(moment, "tmin")
        span = (normals.tmax_c - normals.tmin_c) * (1 + 0.15 * self.daily_noise(moment, "span"))
        hour = local.hour + local.minute / 60 + local.second / 3600
        rain = self.rain_rate(lon, lat, moment)

        temperature = tmin + span * diurnal_shape(hour)
        dewpoint = normals.dewpoint_c - lapse + 2.0 * self.daily_noise(moment, "dewpoint")
        if rain > 0.1:
            # Evaporation cools the air towards the wet-bulb temperature, close to the dewpoint.
            cooled = temperature - min(5.0, 1.3 * math.sqrt(rain))
            temperature = max(cooled, min(temperature, dewpoint - 0.5))
            dewpoint = max(dewpoint, temperature - 0.6)
        return Conditions(
            air_temperature_c=temperature,
            relative_humidity_pct=relative_humidity(temperature, dewpoint),
            rain_rate_mm_h=rain,
            soil_20cm_pct=normals.soil_20cm_pct,
            soil_50cm_pct=normals.soil_50cm_pct,
            daily_mean_c=tmin + span / 2,
        )
