"""Simulated weather and station values: metric ranges, seasons, diurnal cycle, shared storms."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from statistics import mean

import pytest

from vuonso.ingest.metrics import canonical_value
from vuonso.simulators.corps import Corps, StationSpec
from vuonso.simulators.stations import NATIVE_METRICS, TIP_MM, Sample, StationState
from vuonso.simulators.weather import LOCAL_TZ, Climate

# Plausible bounds per season at 400-700 m in western Gia Lai: cool nights and dry soils in
# December, wet soils and heavy storms in August.
DECEMBER_BOUNDS = {
    "air_temperature": (8.0, 34.0),
    "relative_humidity": (20.0, 100.0),
    "soil_moisture_20cm": (22.0, 42.0),
    "soil_moisture_50cm": (26.0, 45.0),
    "soil_temperature": (15.0, 30.0),
    "rainfall": (0.0, 10.0),
    "leaf_wetness": (0.0, 100.0),
    "battery": (2.9, 3.7),
}
AUGUST_BOUNDS = {
    **DECEMBER_BOUNDS,
    "air_temperature": (15.0, 36.0),
    "soil_moisture_20cm": (30.0, 55.0),
    "soil_moisture_50cm": (33.0, 52.0),
    "rainfall": (0.0, 60.0),
}


def _hourly(spec: StationSpec, climate: Climate, start: datetime, hours: int) -> list[Sample]:
    state = StationState(spec, climate, seed=1)
    return [state.advance(start + timedelta(hours=hour)) for hour in range(hours)]


def _samples(corps: Corps, start: datetime, hours: int, stations: int = 40) -> list[Sample]:
    climate = Climate(1)
    step = len(corps.stations) // stations
    return [sample for spec in corps.stations[::step]
            for sample in _hourly(spec, climate, start, hours)]


@pytest.mark.parametrize(("month", "bounds"), [(12, DECEMBER_BOUNDS), (8, AUGUST_BOUNDS)])
def test_values_within_bounds(corps: Corps, month: int, bounds: dict[str, tuple[float, float]]) -> None:
    samples = _samples(corps, datetime(2025, month, 3, tzinfo=LOCAL_TZ), hours=72)
    for name in NATIVE_METRICS:
        values = [sample.values[name] for sample in samples]
        low, high = bounds[name]
        assert low <= min(values), (name, min(values))
        assert max(values) <= high, (name, max(values))
        for value in values:
            canonical_value(name, value)  # raises DecodeError outside the metric's valid range


def test_dry_season_drier_than_rains(corps: Corps) -> None:
    december = _samples(corps, datetime(2025, 12, 1, tzinfo=LOCAL_TZ), hours=24 * 10, stations=10)
    august = _samples(corps, datetime(2025, 8, 1, tzinfo=LOCAL_TZ), hours=24 * 10, stations=10)

    def average(samples: list[Sample], name: str) -> float:
        return mean(sample.values[name] for sample in samples)

    assert average(december, "soil_moisture_20cm") + 5 < average(august, "soil_moisture_20cm")
    assert average(december, "relative_humidity") + 5 < average(august, "relative_humidity")
    assert sum(s.values["rainfall"] for s in december) < sum(s.values["rainfall"] for s in august) / 5


def test_rainfall_counts_whole_tips(corps: Corps) -> None:
    samples = _samples(corps, datetime(2025, 8, 1, tzinfo=LOCAL_TZ), hours=24 * 3, stations=10)
    assert any(sample.rain_tips > 0 for sample in samples)
    for sample in samples:
        assert sample.values["rainfall"] == pytest.approx(sample.rain_tips * TIP_MM)


def test_december_afternoons_warmer_than_dawn(corps: Corps) -> None:
    climate = Climate(1)
    spec = corps.stations[0]
    dawn, afternoon = [], []
    for day in range(1, 11):
        state = StationState(spec, climate, seed=1)
        dawn.append(state.advance(datetime(2025, 12, day, 5, 30, tzinfo=LOCAL_TZ)).values)
        afternoon.append(state.advance(datetime(2025, 12, day, 14, 30, tzinfo=LOCAL_TZ)).values)
    # Dry-season diurnal range is above 10 °C; afternoons are dry, dawns near saturation.
    assert mean(v["air_temperature"] for v in afternoon) - mean(v["air_temperature"] for v in dawn) > 9
    assert mean(v["relative_humidity"] for v in afternoon) < 60
    assert mean(v["relative_humidity"] for v in dawn) > 85


def test_device_time_carries_local_offset(corps: Corps) -> None:
    sample = _hourly(corps.stations[0], Climate(1), datetime(2025, 12, 3, tzinfo=LOCAL_TZ), 1)[0]
    offset = sample.time.utcoffset()
    assert offset == timedelta(hours=7)
    assert sample.time.isoformat().endswith("+07:00")


def _correlation(first: list[float], second: list[float]) -> float:
    mean_a, mean_b = mean(first), mean(second)
    covariance = sum((a - mean_a) * (b - mean_b) for a, b in zip(first, second, strict=True))
    spread = math.sqrt(sum((a - mean_a) ** 2 for a in first) * sum((b - mean_b) ** 2 for b in second))
    return covariance / spread


def test_storms_shared_by_nearby_plots() -> None:
    climate = Climate(1)
    start = datetime(2025, 8, 1, tzinfo=LOCAL_TZ)
    times = [start + timedelta(minutes=10 * step) for step in range(6 * 24 * 20)]
    here = [climate.rain_rate(107.66, 13.74, t) for t in times]
    near = [climate.rain_rate(107.67, 13.75, t) for t in times]  # about 1.5 km away
    far = [climate.rain_rate(107.90, 14.10, t) for t in times]  # about 48 km away
    assert sum(here) > 0
    assert _correlation(here, near) > 0.8
    assert _correlation(here, far) < 0.3


def test_same_seed_same_values(corps: Corps) -> None:
    start = datetime(2025, 12, 3, tzinfo=LOCAL_TZ)
    first = _hourly(corps.stations[5], Climate(3), start, 24)
    second = _hourly(corps.stations[5], Climate(3), start, 24)
    assert first == second
