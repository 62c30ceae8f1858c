"""Payload decoders: conformance uplinks, native JSON, SenML, LoRaWAN sources and invalid input."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import SHARED_DATA, shared_data
from vuonso.core.i18n import translate
from vuonso.ingest.decoders import chirpstack as chirpstack_format
from vuonso.ingest.decoders import decode
from vuonso.ingest.errors import CodecError, DecodeError, UnknownDevice
from vuonso.ingest.model import DecodedMessage, Reading

RECEIVED = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
UPLINKS = "lorawan-uplinks"
CONVERTERS = "thingsboard-data-converters"

# Device folder of the ThingsBoard converter set -> our model name.
CONVERTER_MODELS = {
    "DL-5TM": "decentlab-dl-5tm",
    "DL-ATM41": "decentlab-dl-atm41",
    "DL-TBRG": "decentlab-dl-tbrg",
    "EM500-SMTC": "milesight-em500-smtc",
}


class Expected(NamedTuple):
    metric: str | None  # None: the key is not a reading we store
    factor: float = 1.0  # ThingsBoard value x factor = canonical value
    tolerance: float = 1e-9


# ThingsBoard telemetry key -> canonical metric. Keys mapped to None are radio metadata or
# device diagnostics that the platform does not store as readings.
THINGSBOARD_KEYS: dict[str, dict[str, Expected]] = {
    "decentlab": {
        "dielectric_permittivity": Expected("soil_permittivity"),
        "volumetric_water_content": Expected("soil_moisture", 100.0),  # m³/m³ -> %
        "soil_temperature": Expected("soil_temperature"),
        "battery_voltage": Expected("battery"),
        "solar_radiation": Expected("solar_radiation"),
        "precipitation": Expected("rainfall"),
        "lightning_strike_count": Expected("lightning_strikes"),
        "lightning_average_distance": Expected("lightning_distance"),
        "wind_speed": Expected("wind_speed"),
        "wind_direction": Expected("wind_direction"),
        "maximum_wind_speed": Expected("wind_gust"),
        "air_temperature": Expected("air_temperature"),
        "vapor_pressure": Expected("vapour_pressure", 10.0),  # kPa -> hPa
        "atmospheric_pressure": Expected("air_pressure", 10.0),  # kPa -> hPa
        "relative_humidity": Expected("relative_humidity"),
        "sensor_temperature_internal": Expected(None),
        "x_orientation_angle": Expected(None),
        "y_orientation_angle": Expected(None),
        "compass_heading": Expected(None),
        "north_wind_speed": Expected(None),
        "east_wind_speed": Expected(None),
    },
    "milesight": {
        "battery": Expected("battery_level"),
        "temperature": Expected("soil_temperature"),
        # The ThingsBoard converter divides the raw byte as integers (115 / 2 = 57), while the
        # vendor's decoder gives 57.5; allow one raw step of 0.5 %.
        "moisture": Expected("soil_moisture", tolerance=0.5),
        "ec": Expected("soil_ec"),
    },
}
RADIO_KEYS = {"lora_frame_counter", "lora_frame_port", "lora_frequency",
              "lora_spreading_factor", "lora_rssi", "lora_snr"}


def _converter_cases() -> list[Any]:
    folder = SHARED_DATA / UPLINKS / CONVERTERS
    if not folder.is_dir():
        return [pytest.param(None, id="conformance-data-absent")]
    return [pytest.param(path, id=str(path.relative_to(folder)))
            for path in sorted(folder.glob("*/*/payload*.json"))]


def _result_time(ts: object) -> datetime:
    if isinstance(ts, int):
        return datetime.fromtimestamp(ts / 1000, UTC)
    assert isinstance(ts, str)
    return datetime.fromisoformat(ts)


def _fallback_time(payload: dict[str, Any]) -> datetime:
    """The time we store when ThingsBoard used its own clock: the gateway time of rxInfo."""
    return datetime.fromisoformat(payload["rxInfo"][0]["time"])


@pytest.mark.parametrize("payload_path", _converter_cases())
def test_thingsboard_uplink_matches_result(payload_path: Path | None) -> None:
    shared_data(UPLINKS, CONVERTERS)
    assert payload_path is not None
    result_path = payload_path.with_name(payload_path.name.replace("payload", "result"))
    result = json.loads(result_path.read_text(encoding="utf-8"))
    payload = json.loads(payload_path.read_text(encoding="utf-8"))
    model = CONVERTER_MODELS[payload_path.parent.parent.name]
    fmt = "chirpstack" if payload_path.parent.name == "ChirpStack" else "tts"
    requested: list[str] = []

    def model_for(identifier: str) -> str:
        requested.append(identifier)
        return model

    message = decode(fmt, "", payload_path.read_bytes(), received_at=RECEIVED,
                     model_for=model_for)

    attributes = result["attributes"]
    dev_eui = (attributes.get("lora_dev_eui") or attributes["eui"]).lower()
    assert requested[0] == dev_eui
    assert message.rejected == []
    assert {reading.device for reading in message.readings} == {dev_eui}

    [telemetry] = result["telemetry"]
    keys = THINGSBOARD_KEYS[model.split("-")[0]]
    expected: dict[str, tuple[float, float]] = {}
    for key, value in telemetry["values"].items():
        if key in RADIO_KEYS:
            continue
        assert key in keys, f"no mapping for ThingsBoard key {key!r}"
        mapping = keys[key]
        if mapping.metric is not None:
            expected[mapping.metric] = (value * mapping.factor, mapping.tolerance)
    ours = {reading.metric: reading.value for reading in message.readings}
    assert set(ours) == set(expected)
    for metric, (value, tolerance) in expected.items():
        assert ours[metric] == pytest.approx(value, abs=tolerance), metric

    want = _result_time(telemetry["ts"]) if "ts" in telemetry else _fallback_time(payload)
    for reading in message.readings:
        # ThingsBoard keeps milliseconds; the payload times carry micro- or nanoseconds.
        assert abs(reading.time - want) < timedelta(milliseconds=1)


def test_chirpstack_stores_event_time_not_ns_time() -> None:
    path = shared_data(UPLINKS, CONVERTERS, "DL-TBRG", "ChirpStack", "payload_01.json")
    message = decode("chirpstack", "application/1/device/70b3d57ba0003bb8/event/up",
                     path.read_bytes(), received_at=RECEIVED,
                     model_for=lambda _: "decentlab-dl-tbrg")
    # `time` was edited upstream to two days before rxInfo[].nsTime; `time` is what we store.
    assert [r.time for r in message.readings] == [datetime(2024, 11, 10, 12, 51, 50, tzinfo=UTC)]


def test_tts_docs_sample_decoded_payload() -> None:
    path = shared_data(UPLINKS, "official-docs", "tts-v3-docs-uplink-message.json")
    message = decode("tts", "v3/app1@ttn/devices/dev1/up", path.read_bytes(),
                     received_at=RECEIVED)
    assert message.readings == [
        Reading("0004a30b001c0530", "air_temperature",
                datetime(2020, 2, 12, 15, 15, 46, 14773, tzinfo=UTC), 1.0, "°C")]
    assert [reason for reason, _ in message.rejected] == ["metric_unknown"]
    assert "'luminosity'" in message.rejected[0][1]


@pytest.mark.parametrize("name", ["chirpstack-v4-docs-event-up.json",
                                  "chirpstack-v4-docs-all-events.json"])
def test_chirpstack_docs_sample_envelope(name: str) -> None:
    body = json.loads(shared_data(UPLINKS, "official-docs", name).read_text(encoding="utf-8"))
    body = body.get("up", body)
    uplink = chirpstack_format.parse_uplink("", body, RECEIVED)
    assert uplink.device == "0101010101010101"
    assert uplink.port == 1
    assert uplink.data == b"\xaa"
    assert uplink.decoded is None
    assert uplink.time == datetime(2022, 7, 18, 9, 34, 15, 775023, tzinfo=UTC)


def test_chirpstack_docs_sample_needs_model() -> None:
    payload = shared_data(UPLINKS, "official-docs", "chirpstack-v4-docs-event-up.json")
    with pytest.raises(DecodeError) as caught:
        decode("chirpstack", "", payload.read_bytes(), received_at=RECEIVED)
    assert caught.value.reason_code == "model_missing"
    with pytest.raises(CodecError) as wrong_model:
        decode("chirpstack", "", payload.read_bytes(), received_at=RECEIVED,
               model_for=lambda _: "decentlab-dl-5tm")
    assert "protocol version 170 doesn't match v2" in wrong_model.value.message


# Native JSON


def native(body: object, topic: str = "vuonso/devices/st-0001/up") -> DecodedMessage:
    return decode("json", topic, json.dumps(body).encode(), received_at=RECEIVED)


def test_native_single_form_converts_units() -> None:
    message = native({"device": "st-0001", "time": "2026-12-04T05:00:00+07:00",
                      "readings": {"air_temperature": 25.1, "soil_moisture_20cm": "31.2 %",
                                   "soil_ec": {"value": 1.2, "unit": "dS/m"}}})
    time = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    assert message.readings == [
        Reading("st-0001", "air_temperature", time, 25.1, "°C"),
        Reading("st-0001", "soil_moisture_20cm", time, 31.2, "%"),
        Reading("st-0001", "soil_ec", time, 1200.0, "µS/cm"),
    ]
    assert message.rejected == []


def test_native_device_from_topic_and_receive_time() -> None:
    message = native({"readings": {"battery": "3600 mV"}}, topic="vuonso/devices/st-0002/up")
    assert message.readings == [Reading("st-0002", "battery", RECEIVED, 3.6, "V")]


def test_native_one_bad_value_keeps_the_rest() -> None:
    message = decode("json", "vuonso/devices/st-0001/up",
                     b'{"time": "2026-12-04T05:00:00Z", "readings": {"air_temperature": NaN,'
                     b' "relative_humidity": 80, "rainfall": 0.2, "leaf_wetness": 10,'
                     b' "battery": 3.7}}', received_at=RECEIVED)
    assert [r.metric for r in message.readings] == ["relative_humidity", "rainfall",
                                                    "leaf_wetness", "battery"]
    assert len(message.rejected) == 1
    reason, text = message.rejected[0]
    assert reason == "value_not_finite"
    assert "air_temperature" in text
    assert "nan" in text


def test_native_batch_skips_record_with_bad_time() -> None:
    message = native({"device": "st-0001", "records": [
        {"time": "2026-12-04T01:00:00+07:00", "readings": {"rainfall": 1.4}},
        {"time": "2026-12-04T02:00:00", "readings": {"rainfall": 0.6}},
        {"time": "2026-12-04T03:00:00+07:00", "readings": {"rainfall": 0.2}},
    ]})
    assert [(r.time.hour, r.value) for r in message.readings] == [(18, 1.4), (20, 0.2)]
    assert [reason for reason, _ in message.rejected] == ["time_missing_offset"]
    assert "records[1]" in message.rejected[0][1]


def test_native_batch_all_rejected_raises_first_reason() -> None:
    with pytest.raises(DecodeError) as caught:
        native({"records": [{"time": "2026-12-04T01:00:00Z", "readings": {"rainfall": -1}}]})
    assert caught.value.reason_code == "value_out_of_range"
    assert "every reading was rejected" in caught.value.message


# SenML


def senml(pack: object, topic: str = "vuonso/senml/st-0001") -> DecodedMessage:
    return decode("senml", topic, json.dumps(pack).encode(), received_at=RECEIVED)


def test_senml_base_name_time_and_units() -> None:
    base_time = datetime(2026, 12, 4, 0, 0, tzinfo=UTC).timestamp()
    message = senml([
        {"bn": "urn:dev:vuonso:st-0001:", "bt": base_time, "bu": "Cel",
         "n": "air_temperature", "v": 25.5},
        {"n": "soil_temperature_20cm", "v": 24.0, "t": 60},
        {"n": "relative_humidity", "u": "/", "v": 0.81},
        {"n": "battery", "u": "%EL", "v": 76},
        {"n": "soil_ec", "u": "S/m", "v": 0.024},
    ])
    start = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert message.readings == [
        Reading("st-0001", "air_temperature", start, 25.5, "°C"),
        Reading("st-0001", "soil_temperature_20cm", start + timedelta(seconds=60), 24.0, "°C"),
        Reading("st-0001", "relative_humidity", start, 81.0, "%"),
        Reading("st-0001", "battery_level", start, 76.0, "%"),
        Reading("st-0001", "soil_ec", start, 240.0, "µS/cm"),
    ]


def test_senml_relative_time_and_base_value() -> None:
    message = senml([{"bn": "st-0001/", "bv": 20.0, "n": "temperature", "u": "Cel", "v": 1.5,
                      "t": -120}], topic="vuonso/senml/st-0001")
    assert message.readings == [
        Reading("st-0001", "air_temperature", RECEIVED - timedelta(minutes=2), 21.5, "°C")]


def test_senml_string_value_rejected_alone() -> None:
    message = senml([{"bn": "urn:dev:vuonso:st-0001:", "n": "rainfall", "v": 0.2, "u": "mm"},
                     {"n": "leaf_wetness", "vs": "wet"}])
    assert [r.metric for r in message.readings] == ["rainfall"]
    assert message.rejected[0][0] == "value_not_numeric"
    assert "'vs'" in message.rejected[0][1]


# LoRaWAN sources


def chirpstack(extra: dict[str, Any], dev_eui: str = "70b3d57ba0003bb8") -> bytes:
    body = {"deviceInfo": {"devEui": dev_eui}, "time": "2026-12-04T05:00:00+07:00", **extra}
    return json.dumps(body).encode()


def tts(uplink: dict[str, Any], ids: dict[str, Any] | None = None) -> bytes:
    body = {"end_device_ids": ids or {"device_id": "lse-07", "dev_eui": "A840411B91D0E1F0"},
            "received_at": "2026-12-04T05:00:00Z", "uplink_message": uplink}
    return json.dumps(body).encode()


def test_chirpstack_object_read_with_model_codec() -> None:
    payload = chirpstack({"fPort": 1, "object": {
        "device_id": 571, "soil_temperature": {"value": 22.5, "unit": "°C"},
        "volumetric_water_content": {"value": 0.312, "unit": "m³⋅m⁻³"}}})
    message = decode("chirpstack", "application/a/device/70b3d57ba0003bb8/event/up", payload,
                     received_at=RECEIVED, model_for=lambda _: "decentlab-dl-5tm")
    assert [(r.metric, r.value) for r in message.readings] == [
        ("soil_moisture", pytest.approx(31.2)), ("soil_temperature", 22.5)]


def test_chirpstack_raw_bytes_with_history_times() -> None:
    stamp = int(datetime(2026, 12, 3, 23, 0, tzinfo=UTC).timestamp())
    data = bytes.fromhex("017564") + bytes.fromhex("20ce") + stamp.to_bytes(4, "little") + \
        bytes.fromhex("f000 1901 3d0c")
    payload = chirpstack({"fPort": 85, "data": base64.b64encode(data).decode()})
    message = decode("chirpstack", "", payload, received_at=RECEIVED,
                     model_for=lambda _: "milesight-em500-smtc")
    times = {r.metric: r.time for r in message.readings}
    assert times["battery_level"] == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)  # event time
    assert times["soil_ec"] == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)  # history record


def test_tts_normalized_payload_without_model() -> None:
    payload = tts({"f_port": 2, "normalized_payload": [
        {"soil": {"depth": 20, "moisture": 33.5, "ec": 0.9}, "battery": 3.6}]})
    message = decode("tts", "v3/farm@ttn/devices/lse-07/up", payload, received_at=RECEIVED)
    assert [(r.device, r.metric, r.value) for r in message.readings] == [
        ("a840411b91d0e1f0", "soil_moisture_20cm", 33.5),
        ("a840411b91d0e1f0", "soil_ec_20cm", 900.0),
        ("a840411b91d0e1f0", "battery", 3.6)]


def test_tts_model_found_by_device_id_without_eui() -> None:
    data = bytes.fromhex("ce2900f107a5099b0f0090")
    payload = tts({"f_port": 2, "frm_payload": base64.b64encode(data).decode()},
                  ids={"device_id": "lse-07"})
    requested: list[str] = []

    def model_for(identifier: str) -> str | None:
        requested.append(identifier)
        return "dragino-lse01" if identifier == "lse-07" else None

    message = decode("tts", "", payload, received_at=RECEIVED, model_for=model_for)
    assert requested == ["lse-07"]
    assert {r.device for r in message.readings} == {"lse-07"}
    assert {r.metric: r.value for r in message.readings}["soil_ec"] == 3840.0


def test_tts_lse01_keeps_good_values() -> None:
    payload = tts({"f_port": 2, "frm_payload": "zikA8QelCZtuKJA="})
    message = decode("tts", "", payload, received_at=RECEIVED,
                     model_for=lambda _: "dragino-lse01")
    assert [r.metric for r in message.readings] == [
        "battery", "air_temperature", "soil_moisture", "soil_temperature"]
    assert [reason for reason, _ in message.rejected] == ["value_out_of_range"]
    assert "soil_ec: 28200" in message.rejected[0][1]


def test_unregistered_device_with_raw_bytes() -> None:
    payload = chirpstack({"fPort": 1, "data": "AgL4AAIMVA=="})
    with pytest.raises(UnknownDevice) as caught:
        decode("chirpstack", "", payload, received_at=RECEIVED, model_for=lambda _: None)
    assert caught.value.reason_code == "unknown_device"
    assert caught.value.device == "70b3d57ba0003bb8"


def test_bogus_object_falls_back_to_raw_bytes() -> None:
    # A device profile decoding with another device's codec yields none of the model's fields.
    payload = chirpstack({"fPort": 1, "data": "AgL4AAIMVA==",
                          "object": {"temperatureSensor": 25, "humiditySensor": 32}})
    message = decode("chirpstack", "", payload, received_at=RECEIVED,
                     model_for=lambda _: "decentlab-dl-tbrg")
    assert [(r.metric, r.value) for r in message.readings] == [("battery", 3.156)]


def test_documented_examples_decode() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "payloads.md").read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    for block in blocks:
        fmt, topic = ("senml", "vuonso/senml/st-0001") if block.lstrip().startswith("[") \
            else ("json", "vuonso/devices/st-0001/up")
        message = decode(fmt, topic, block.encode(), received_at=RECEIVED)
        assert message.rejected == [], block
        assert message.readings, block


def test_received_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decode("json", "", b"{}", received_at=datetime(2026, 12, 4, 5, 0))


# Invalid input, one row per policy: (format, topic, payload, model, reason, message fragment).

_DL_TOPIC = "application/a/device/70b3d57ba0003bb8/event/up"
INVALID: list[tuple[str, str, bytes, str | None, str, str]] = [
    ("json", "", b'{"device": "st-0001", "readings": {"air_temperature": 2', None,
     "invalid_json", "line 1 column"),
    ("json", "", b"", None, "invalid_json", "payload is empty"),
    ("json", "", b'{"device": "st-\xff"}', None, "invalid_utf8", "0xff at offset 15"),
    ("json", "", b'[{"device": "st-0001"}]', None, "wrong_type", "payload must be an object"),
    ("json", "", b'{"device": 7, "readings": {"rainfall": 1}}', None, "wrong_type",
     "payload.device must be a string, got an integer 7"),
    ("json", "", b'{"device": "st-0001", "readings": [1, 2]}', None, "wrong_type",
     "payload.readings must be an object"),
    ("json", "", b'{"device": "st-0001", "readings": {"rainfall": NaN}}', None,
     "value_not_finite", "rainfall: nan"),
    ("json", "", b'{"device": "st-0001", "readings": {"rainfall": "Infinity"}}', None,
     "value_not_finite", "'Infinity'"),
    ("json", "", b'{"device": "st-0001", "readings": {"rainfall": "0.2 inches of rain"}}',
     None, "unit_unknown", "'inches of rain'"),
    ("json", "", b'{"device": "st-0001", "readings": {"relative_humidity": 104}}', None,
     "value_out_of_range", "0…100 %"),
    ("json", "", b'{"device": "st-0001", "readings": {"battery": true}}', None,
     "value_not_numeric", "True is not a number"),
    ("json", "", b'{"device": "st-0001", "time": "2026-12-04T05:00:00", "readings": '
     b'{"rainfall": 1}}', None, "time_missing_offset", "has no UTC offset"),
    ("json", "", b'{"device": "st-0001", "time": "2026-12-04", "readings": {"rainfall": 1}}',
     None, "time_missing_offset", "'2026-12-04'"),
    ("json", "", b'{"device": "st-0001", "time": "04/12/2026 05:00", "readings": '
     b'{"rainfall": 1}}', None, "time_invalid", "is not an ISO 8601 time"),
    ("json", "", b'{"device": "st-0001", "time": 1796360400, "readings": {"rainfall": 1}}',
     None, "time_invalid", "must be an ISO 8601 string"),
    ("json", "vuonso/devices/st-0002/up", b'{"device": "st-0001", "readings": {"rainfall": 1}}',
     None, "device_mismatch", "topic names device 'st-0002'"),
    ("json", "", b'{"device": "st 0001", "readings": {"rainfall": 1}}', None,
     "device_invalid", "'st 0001' is not a valid device id"),
    ("json", "", b'{"readings": {"rainfall": 1}}', None, "missing_field", "'device'"),
    ("json", "", b'{"device": "st-0001", "readings": {}}', None, "no_readings",
     "contains no readings"),
    ("json", "", b'{"device": "st-0001"}', None, "missing_field", "neither 'readings'"),
    ("json", "", b'{"device": "st-0001", "readings": {}, "records": []}', None, "wrong_type",
     "both 'readings' and 'records'"),
    ("json", "", b'{"device": "st-0001", "records": []}', None, "no_readings",
     "records is empty"),
    ("json", "", b'{"device": "st-0001", "readings": {"leaf_colour": 3}}', None,
     "metric_unknown", "'leaf_colour'"),
    ("senml", "vuonso/senml/st-0001", b'[{"bt": "yesterday", "n": "rainfall", "v": 1}]', None,
     "time_invalid", "payload[0].bt must be a finite number"),
    ("senml", "vuonso/senml/st-0001", b'[{"bt": 1e300, "n": "rainfall", "v": 1}]', None,
     "time_invalid", "outside the supported range"),
    ("senml", "vuonso/senml/st-0001", b'{"n": "rainfall", "v": 1}', None, "wrong_type",
     "payload must be an array"),
    ("senml", "vuonso/senml/st-0001", b"[]", None, "no_readings", "pack is empty"),
    ("senml", "vuonso/senml/st-0001", b'[{"n": "rainfall", "v": 1, "ut_": 5}]', None,
     "senml_unsupported", "['ut_']"),
    ("senml", "vuonso/senml/st-0001", b'[{"bver": 11, "n": "rainfall", "v": 1}]', None,
     "senml_unsupported", "version 11"),
    ("senml", "vuonso/senml/st-0001", b'[{"bn": "urn:dev:vuonso:st-0002:", "n": "rainfall",'
     b' "v": 1}]', None, "device_mismatch", "'st-0002'"),
    ("senml", "", b'[{"n": "rainfall", "v": 1}]', None, "missing_field", "names no device"),
    ("senml", "vuonso/senml/st-0001", b'[{"n": "rainfall", "u": "Cel", "v": 1}]', None,
     "unit_unknown", "'Cel' cannot be converted to mm"),
    ("chirpstack", _DL_TOPIC, b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1,'
     b' "data": "%%%not base64"}', "decentlab-dl-tbrg", "invalid_base64", "payload.data"),
    ("chirpstack", "application/a/device/0000000000000001/event/up",
     b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1, "data": "AgL4AAIMVA=="}',
     "decentlab-dl-tbrg", "device_mismatch", "'0000000000000001'"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003b"}}', None,
     "device_invalid", "is not a DevEUI of 16 hex digits"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1,'
     b' "data": "AgL4AAIMVA=="}', "rainwise-9000", "model_unknown", "'rainwise-9000'"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1,'
     b' "data": "AgL4AAIMVA=="}', "vuonso-station", "codec_missing", "no byte codec"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1,'
     b' "data": "AgL4AAM="}', "decentlab-dl-tbrg", "codec_failed", "short payload"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "data": "AgL4AAIMVA=="}',
     "decentlab-dl-tbrg", "missing_field", "without an FPort"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "fPort": 1}',
     "decentlab-dl-tbrg", "no_readings", "contains no readings"),
    ("chirpstack", "", b'{"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "time": "noon"}',
     None, "time_invalid", "payload.time 'noon'"),
    ("chirpstack", "", b'{"devEUI": "AgICAgICAgI=", "objectJSON": "{\\"a\\": "}', None,
     "invalid_json", "objectJSON is not valid JSON"),
    ("chirpstack", "", b'{"margin": 10, "batteryLevel": 88.3}', None, "missing_field",
     "is this an uplink event?"),
    ("tts", "", b'{"end_device_ids": {"device_id": "dev1"}}', None, "missing_field",
     "'uplink_message'"),
    ("tts", "", b'{"uplink_message": {}}', None, "missing_field", "'end_device_ids'"),
    ("tts", "v3/app1@ttn/devices/dev2/up", b'{"end_device_ids": {"device_id": "dev1"},'
     b' "uplink_message": {"decoded_payload": {"temperature": 20}}}', None, "device_mismatch",
     "'dev2'"),
    ("tts", "", b'{"end_device_ids": {"device_id": "dev1"}, "uplink_message": {"f_port": "2",'
     b' "frm_payload": "zikA8QelCZtuKJA="}}', "dragino-lse01", "wrong_type",
     "payload.uplink_message.f_port must be an integer"),
    ("mqtt-sn", "", b"{}", None, "format_unknown", "'mqtt-sn'"),
]


@pytest.mark.parametrize(("fmt", "topic", "payload", "model", "reason", "fragment"), INVALID,
                         ids=[f"{row[0]}-{row[4]}-{index}" for index, row in enumerate(INVALID)])
def test_invalid_payload_rejected(fmt: str, topic: str, payload: bytes, model: str | None,
                                  reason: str, fragment: str) -> None:
    model_for = (lambda _: model) if model else None
    with pytest.raises(DecodeError) as caught:
        decode(fmt, topic, payload, received_at=RECEIVED, model_for=model_for)
    assert caught.value.reason_code == reason
    assert fragment in caught.value.message
    assert caught.value.key == f"ingest.reason.{reason}"
    for language in ("vi", "en"):
        text = translate(caught.value.key, language, **caught.value.params)
        assert text != caught.value.key, f"{reason} missing from the {language} catalog"
        assert "{" not in text, f"{reason} in {language} needs parameters it was not given"


def test_unknown_device_message_in_catalogs() -> None:
    error = UnknownDevice("70b3d57ba0003bb8")
    for language in ("vi", "en"):
        assert "70b3d57ba0003bb8" in translate(error.key, language, **error.params)
