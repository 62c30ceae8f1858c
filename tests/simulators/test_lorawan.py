"""LoRaWAN encoders against the platform's codecs, and the network-server envelopes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from vuonso.ingest.codecs import MODELS
from vuonso.ingest.decoders import decode
from vuonso.ingest.metrics import canonical_value, resolve_name
from vuonso.simulators.corps import Corps, StationSpec
from vuonso.simulators.lorawan import AS923_2_CHANNELS_HZ, ENCODERS, EnvelopeBuilder, battery_percent
from vuonso.simulators.stations import Sample, StationState
from vuonso.simulators.weather import LOCAL_TZ, Climate

# Per model: decoded metric -> (sample value it must reproduce, half the resolution of the byte
# layout). Rounding may land exactly on the half, so the check allows 1 % more.
EXPECTED: dict[str, dict[str, tuple[str, float]]] = {
    "dragino-lse01": {
        "battery": ("battery", 0.001),
        "air_temperature": ("air_temperature", 0.05),
        "soil_moisture": ("soil_moisture_20cm", 0.005),
        "soil_temperature": ("soil_temperature", 0.005),
        "soil_ec": ("soil_ec", 0.5),
    },
    "decentlab-dl-5tm": {
        "soil_moisture": ("soil_moisture_20cm", 0.05),
        "soil_temperature": ("soil_temperature", 0.05),
        "battery": ("battery", 0.001),
    },
    "decentlab-dl-atm41": {
        "solar_radiation": ("solar_radiation", 0.5),
        "rainfall": ("rainfall", 0.0005),
        "wind_speed": ("wind_speed", 0.005),
        "wind_direction": ("wind_direction", 0.05),
        "wind_gust": ("wind_gust", 0.005),
        "air_temperature": ("air_temperature", 0.05),
        "vapour_pressure": ("vapour_pressure", 0.05),
        "air_pressure": ("air_pressure", 0.05),
        "relative_humidity": ("relative_humidity", 0.05),
        "battery": ("battery", 0.001),
    },
    "decentlab-dl-tbrg": {
        "rainfall": ("rainfall", 0.05),
        "battery": ("battery", 0.001),
    },
    "milesight-em500-smt": {
        "soil_temperature": ("soil_temperature", 0.05),
        "soil_moisture": ("soil_moisture_20cm", 0.005),
    },
    "milesight-em500-smtc": {
        "soil_temperature": ("soil_temperature", 0.05),
        "soil_moisture": ("soil_moisture_20cm", 0.25),
        "soil_ec": ("soil_ec", 0.5),
    },
    "sensecap-s2105": {
        "soil_temperature": ("soil_temperature", 0.0005),
        "soil_moisture": ("soil_moisture_20cm", 0.0005),
        "soil_ec": ("soil_ec", 0.5),
    },
}


def _station(corps: Corps, model: str) -> StationSpec:
    return next(station for station in corps.stations if station.model == model)


def _samples(station: StationSpec, month: int) -> list[Sample]:
    state = StationState(station, Climate(1), seed=1)
    start = datetime(2025, month, 2, tzinfo=LOCAL_TZ)
    return [state.advance(start + timedelta(hours=5 * step)) for step in range(20)]


def test_every_codec_model_has_an_encoder() -> None:
    assert set(ENCODERS) == set(MODELS) - {"vuonso-station"}
    assert set(EXPECTED) == set(ENCODERS)


@pytest.mark.parametrize("month", [8, 12])
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_encoder_round_trips_through_codec(corps: Corps, model: str, month: int) -> None:
    station = _station(corps, model)
    codec = MODELS[model]
    assert codec is not None
    for sample in _samples(station, month):
        uplink = ENCODERS[model](station, sample)

        decoded = {}
        for measurement in codec.to_readings(codec.decode(uplink.port, uplink.payload)):
            name = resolve_name(measurement.metric, measurement.unit)
            decoded[name] = canonical_value(name, measurement.value, measurement.unit)[0]

        for metric, (sample_metric, tolerance) in EXPECTED[model].items():
            expected = sample.values[sample_metric]
            assert decoded[metric] == pytest.approx(expected, abs=tolerance * 1.01), metric
        if "battery_level" in decoded:
            assert decoded["battery_level"] == battery_percent(sample.values["battery"])


def test_battery_percent_bounds() -> None:
    assert battery_percent(3.7) == 100
    assert battery_percent(3.3) == 50
    assert battery_percent(2.8) == 0


def _envelope(corps: Corps, transport: str) -> tuple[StationSpec, Sample, dict[str, object]]:
    station = next(s for s in corps.stations if s.transport == transport)
    sample = _samples(station, 12)[3]
    return station, sample, EnvelopeBuilder(1).envelope(station, sample)


def test_chirpstack_envelope(corps: Corps) -> None:
    station, sample, body = _envelope(corps, "chirpstack")
    assert "object" not in body
    assert body["deviceInfo"]["devEui"] == station.dev_eui  # type: ignore[index]
    assert body["txInfo"]["frequency"] in AS923_2_CHANNELS_HZ  # type: ignore[index]
    assert body["rxInfo"][0]["metadata"]["region_config_id"] == "as923_2"  # type: ignore[index]
    uplink = ENCODERS[station.model](station, sample)
    assert base64.b64decode(body["data"]) == uplink.payload  # type: ignore[arg-type]
    assert body["fPort"] == uplink.port
    assert datetime.fromisoformat(body["time"]) == sample.time  # type: ignore[arg-type]


def test_tts_envelope(corps: Corps) -> None:
    station, sample, body = _envelope(corps, "tts")
    message = body["uplink_message"]
    assert "decoded_payload" not in message  # type: ignore[operator]
    assert body["end_device_ids"]["dev_eui"] == (station.dev_eui or "").upper()  # type: ignore[index]
    assert int(message["settings"]["frequency"]) in AS923_2_CHANNELS_HZ  # type: ignore[index]
    uplink = ENCODERS[station.model](station, sample)
    assert base64.b64decode(message["frm_payload"]) == uplink.payload  # type: ignore[index]


@pytest.mark.parametrize("transport", ["chirpstack", "tts"])
def test_envelopes_decode_with_ingest(corps: Corps, transport: str) -> None:
    models = {s.dev_eui: s.model for s in corps.stations if s.dev_eui}
    models.update({s.device_id: s.model for s in corps.stations if s.dev_eui})
    builder = EnvelopeBuilder(1)
    stations = [s for s in corps.stations if s.transport == transport]
    for station in stations:
        sample = _samples(station, 8)[0]
        payload = json.dumps(builder.envelope(station, sample)).encode()

        decoded = decode(transport, station.topic, payload, received_at=datetime.now(UTC),
                         model_for=models.get)

        assert decoded.rejected == []
        assert {reading.device for reading in decoded.readings} == {station.dev_eui}
        assert {reading.time for reading in decoded.readings} == {sample.time.astimezone(UTC)}


def test_frame_counters_increase(corps: Corps) -> None:
    station = next(s for s in corps.stations if s.transport == "chirpstack")
    builder = EnvelopeBuilder(1)
    counters = [builder.envelope(station, sample)["fCnt"] for sample in _samples(station, 12)[:5]]
    assert counters == [0, 1, 2, 3, 4]
