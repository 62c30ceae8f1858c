"""Device codecs: vendor examples, byte layouts, errors and the mapping to canonical metrics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SHARED_DATA, shared_data
from vuonso.ingest.codecs import MODELS, STATION_MODEL, Codec, Measurement
from vuonso.ingest.codecs.sensecap import crc16_kermit
from vuonso.ingest.decoders.lorawan import normalized_measurements
from vuonso.ingest.errors import CodecError, DecodeError
from vuonso.ingest.metrics import canonical_value

# The codec YAML files name the vendor's decoder script; this maps each to our model.
EXAMPLE_MODELS = {
    "dl-5tm.js": "decentlab-dl-5tm",
    "lse01.js": "dragino-lse01",
    "sensecap210x-common-decoder.js": "sensecap-s2105",
}


def codec(model: str) -> Codec:
    found = MODELS[model]
    assert found is not None
    return found


def assert_matches(actual: object, expected: object, path: str = "data") -> None:
    """Compare decoded objects field by field; numbers within 1e-9 relative tolerance."""
    if isinstance(expected, Mapping):
        assert isinstance(actual, Mapping), f"{path}: expected an object, got {actual!r}"
        assert set(actual) == set(expected), f"{path}: keys differ"
        for key, value in expected.items():
            assert_matches(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: lengths differ"
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(left, right, f"{path}[{index}]")
    elif isinstance(expected, bool | str):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, int | float):
        assert not isinstance(actual, bool | str), f"{path}: {actual!r} is not a number"
        assert actual == pytest.approx(expected, rel=1e-9), f"{path}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _codec_examples() -> list[Any]:
    folder = SHARED_DATA / "lorawan-codec-examples"
    if not folder.is_dir():
        return [pytest.param(None, None, id="conformance-data-absent")]
    params = []
    for path in sorted(folder.glob("*.yaml")):
        decoder = yaml.safe_load(path.read_text(encoding="utf-8"))["uplinkDecoder"]
        examples = decoder.get("examples") or decoder.get("example") or []
        for index, example in enumerate(examples):
            label = example.get("description", str(index)).replace(" ", "_")
            params.append(pytest.param(path, example, id=f"{path.stem}-{label}"))
    return params


@pytest.mark.parametrize(("path", "example"), _codec_examples())
def test_vendor_codec_example(path: Path | None, example: dict[str, Any] | None) -> None:
    shared_data("lorawan-codec-examples")
    assert path is not None and example is not None
    decoder = yaml.safe_load(path.read_text(encoding="utf-8"))["uplinkDecoder"]
    model = EXAMPLE_MODELS[decoder["fileName"]]
    port = example["input"]["fPort"]
    data = bytes(example["input"]["bytes"])
    output = example["output"]

    if "errors" in output:
        with pytest.raises(CodecError) as caught:
            codec(model).decode(port, data)
        for error in output["errors"]:
            assert error in caught.value.message
        return
    assert_matches(codec(model).decode(port, data), output["data"])


def canonical(measurements: list[Measurement]) -> dict[str, object]:
    """Convert measurements to {metric: canonical value, or the reason it was rejected}."""
    result: dict[str, object] = {}
    for measurement in measurements:
        try:
            result[measurement.metric] = canonical_value(measurement.metric, measurement.value,
                                                         measurement.unit)[0]
        except DecodeError as exc:
            result[measurement.metric] = exc.reason_code
    return result


def test_lse01_readings_match_normalized_example() -> None:
    path = shared_data("lorawan-codec-examples", "dragino-lse01-codec.yaml")
    example = yaml.safe_load(path.read_text(encoding="utf-8"))["uplinkDecoder"]["examples"][0]
    lse01 = codec("dragino-lse01")
    obj = lse01.decode(example["input"]["fPort"], bytes(example["input"]["bytes"]))

    ours = canonical(lse01.to_readings(obj))
    normalized = canonical(normalized_measurements(example["normalizedOutput"]["data"]))
    assert ours == normalized
    assert ours["soil_moisture"] == pytest.approx(19.57)
    assert ours["air_temperature"] == pytest.approx(24.1)
    # 28,200 µS/cm is above the 20,000 µS/cm limit of the soil EC metric.
    assert ours["soil_ec"] == "value_out_of_range"


def test_models_list_every_codec() -> None:
    assert MODELS[STATION_MODEL] is None
    assert set(MODELS) == {
        "vuonso-station", "dragino-lse01", "sensecap-s2105", "decentlab-dl-5tm",
        "decentlab-dl-atm41", "decentlab-dl-tbrg", "milesight-em500-smt", "milesight-em500-smtc",
    }
    for name, found in MODELS.items():
        assert found is None or found.name == name


@pytest.mark.parametrize("model", sorted(name for name, found in MODELS.items() if found))
def test_codec_rejects_port_zero(model: str) -> None:
    with pytest.raises(CodecError) as caught:
        codec(model).decode(0, bytes(12))
    assert "unknown FPort 0" in caught.value.message
    assert caught.value.reason_code == "codec_failed"


@pytest.mark.parametrize("model", sorted(name for name, found in MODELS.items() if found))
def test_codec_rejects_empty_payload(model: str) -> None:
    port = min(codec(model).ports or {1})
    with pytest.raises(CodecError) as caught:
        codec(model).decode(port, b"")
    assert "short payload" in caught.value.message


# Decentlab


def test_decentlab_tbrg_vendor_sample() -> None:
    obj = codec("decentlab-dl-tbrg").decode(1, bytes.fromhex("0202f8000300040258409a00000c54"))
    assert obj["device_id"] == 760
    assert obj["precipitation"] == {"displayName": "Precipitation", "value": pytest.approx(0.4),
                                    "unit": "mm"}
    assert obj["precipitation_interval"]["value"] == 600
    assert obj["cumulative_precipitation"]["value"] == pytest.approx(1653.8)
    assert canonical(codec("decentlab-dl-tbrg").to_readings(obj)) == {
        "rainfall": pytest.approx(0.4), "battery": pytest.approx(3.156)}


def test_decentlab_short_payload_names_length() -> None:
    with pytest.raises(CodecError) as caught:
        codec("decentlab-dl-5tm").decode(1, bytes.fromhex("02023b00030037"))
    assert "flags 0x0003 announce 11 bytes, got 7" in caught.value.message


def test_decentlab_wrong_protocol_version() -> None:
    with pytest.raises(CodecError) as caught:
        codec("decentlab-dl-atm41").decode(1, bytes.fromhex("03035a00020bf5"))
    assert "protocol version 3 doesn't match v2" in caught.value.message


def test_decentlab_atm41_maps_network_server_object() -> None:
    # A network server running the vendor codec sends the same nested objects.
    obj = {"device_id": 858, "atmospheric_pressure": {"value": 95.96, "unit": "kPa"},
           "maximum_wind_speed": {"value": 0.2, "unit": "m⋅s⁻¹"},
           "compass_heading": {"value": 86, "unit": "°"}, "vapor_pressure": 1.8}
    assert canonical(codec("decentlab-dl-atm41").to_readings(obj)) == {
        "air_pressure": pytest.approx(959.6), "wind_gust": pytest.approx(0.2),
        "vapour_pressure": pytest.approx(18.0)}


# Dragino LSE01


def test_lse01_negative_soil_temperature() -> None:
    data = bytes.fromhex("0e29ffec07a5ff9c00f090")
    obj = codec("dragino-lse01").decode(2, data)
    assert obj["TempC_DS18B20"] == "-2.0"
    assert obj["temp_SOIL"] == "-1.00"
    assert obj["conduct_SOIL"] == 240


def test_lse01_short_payload() -> None:
    with pytest.raises(CodecError) as caught:
        codec("dragino-lse01").decode(2, bytes.fromhex("ce2900f107a5099b"))
    assert "short payload: an FPort 2 reading needs 11 bytes, got 8" in caught.value.message


# SenseCAP S2105


def sensecap_payload(*frames: tuple[int, int, int]) -> bytes:
    """Build frames of (channel, data id, int32 value) followed by their CRC."""
    body = b"".join(bytes([channel]) + data_id.to_bytes(2, "little")
                    + value.to_bytes(4, "little", signed=True)
                    for channel, data_id, value in frames)
    return body + crc16_kermit(body).to_bytes(2, "little")


def test_crc16_kermit_check_value() -> None:
    assert crc16_kermit(b"123456789") == 0x2189


def test_sensecap_s2105_soil_readings() -> None:
    data = sensecap_payload((1, 4102, 24_500), (1, 4103, 31_250), (1, 4108, 1_200),
                            (1, 4100, 415_000), (1, 4097, -5_300))
    obj = codec("sensecap-s2105").decode(2, data)
    assert obj["messages"][0] == {"type": "report_telemetry", "measurementId": 4102,
                                  "measurementValue": 24.5}
    assert obj["messages"][4]["measurementValue"] == -5.3
    assert canonical(codec("sensecap-s2105").to_readings(obj)) == {
        "soil_temperature": 24.5, "soil_moisture": 31.25, "soil_ec": 1200.0,
        "sensecap_measurement_4100": "metric_unknown", "air_temperature": -5.3}


def test_sensecap_battery_becomes_battery_level() -> None:
    # Frame 0x0007: battery 100 % (uint16 LE), then the interval in minutes (60).
    body = bytes.fromhex("00 0700 6400 3c00")
    obj = codec("sensecap-s2105").decode(1, body + crc16_kermit(body).to_bytes(2, "little"))
    assert obj["messages"] == [{"type": "upload_battery", "battery": 100},
                               {"type": "upload_interval", "interval": 3600}]
    assert canonical(codec("sensecap-s2105").to_readings(obj)) == {"battery_level": 100.0}


def test_sensecap_unknown_data_id_kept_as_message() -> None:
    obj = codec("sensecap-s2105").decode(1, sensecap_payload((1, 0x0200, 0x0A0B0C0D)))
    assert obj["messages"] == [{"type": "unknown_message", "dataID": 512,
                                "dataValue": "0D0C0B0A"}]


def test_sensecap_crc_mismatch() -> None:
    data = bytearray(sensecap_payload((1, 4102, 24_500)))
    data[4] ^= 0x01
    with pytest.raises(CodecError) as caught:
        codec("sensecap-s2105").decode(1, bytes(data))
    assert "CRC mismatch" in caught.value.message


def test_sensecap_length_not_whole_frames() -> None:
    body = sensecap_payload((1, 4102, 24_500))[:-2] + b"\x00"
    with pytest.raises(CodecError) as caught:
        codec("sensecap-s2105").decode(1, body + crc16_kermit(body).to_bytes(2, "little"))
    assert "is not 7-byte frames" in caught.value.message


# Milesight EM500


def test_em500_vendor_sample() -> None:
    data = bytes.fromhex("017564 03671901 046873 057ff000")
    obj = codec("milesight-em500-smtc").decode(85, data)
    assert obj == {"battery": 100, "temperature": 28.1, "moisture": 57.5, "ec": 240}


def test_em500_new_resolution_moisture_and_sensor_error() -> None:
    data = bytes.fromhex("04ca3d0c 057fffff")
    obj = codec("milesight-em500-smt").decode(85, data)
    assert obj == {"moisture": 31.33, "ec_error": "collection failed"}
    assert canonical(codec("milesight-em500-smt").to_readings(obj)) == {
        "soil_moisture": 31.33, "soil_ec": "value_not_numeric"}


def test_em500_history_keeps_timestamps() -> None:
    stamp = int(datetime(2026, 12, 4, 0, 0, tzinfo=UTC).timestamp())
    record = stamp.to_bytes(4, "little") + (310).to_bytes(2, "little") + \
        (-15).to_bytes(2, "little", signed=True) + (2950).to_bytes(2, "little")
    obj = codec("milesight-em500-smtc").decode(85, bytes.fromhex("20ce") + record)
    assert obj == {"history": [{"timestamp": stamp, "ec": 310, "temperature": -1.5,
                                "moisture": 29.5}]}
    measurements = codec("milesight-em500-smtc").to_readings(obj)
    assert {m.metric for m in measurements} == {"soil_ec", "soil_temperature", "soil_moisture"}
    assert {m.time for m in measurements} == {datetime(2026, 12, 4, tzinfo=UTC)}


def test_em500_accepts_other_decoder_field_names() -> None:
    obj = {"battery": 90, "temperature": 27.0, "humidity": 40.5, "electricity": 310}
    assert canonical(codec("milesight-em500-smtc").to_readings(obj)) == {
        "battery_level": 90.0, "soil_temperature": 27.0, "soil_moisture": 40.5,
        "soil_ec": 310.0}


def test_em500_device_information_channels() -> None:
    data = bytes.fromhex("ff0bff ff0101 ff166136c19146800001 ff090140 ff0a0114 ff0f00")
    obj = codec("milesight-em500-smtc").decode(85, data)
    assert obj == {"device_status": "on", "ipso_version": "v0.1", "sn": "6136c19146800001",
                   "hardware_version": "v1.4", "firmware_version": "v1.20",
                   "lorawan_class": "Class A"}
    assert codec("milesight-em500-smtc").to_readings(obj) == []


def test_em500_unknown_channel() -> None:
    with pytest.raises(CodecError) as caught:
        codec("milesight-em500-smtc").decode(85, bytes.fromhex("017564 0973aa27"))
    assert "unknown channel 09 73 at byte 3" in caught.value.message


def test_em500_truncated_channel() -> None:
    with pytest.raises(CodecError) as caught:
        codec("milesight-em500-smtc").decode(85, bytes.fromhex("017564 036719"))
    assert "short payload: channel 03 67 needs 7 bytes, got 6" in caught.value.message


def test_em500_unknown_port() -> None:
    with pytest.raises(CodecError) as caught:
        codec("milesight-em500-smt").decode(1, bytes.fromhex("017564"))
    assert "unknown FPort 1; this model sends readings on FPort 85" in caught.value.message
