"""`vuonso ingest decode` and `vuonso ingest codec` as an integrator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from tests.conftest import shared_data
from vuonso.ingest import devices
from vuonso.ingest.cli import ingest_group
from vuonso.ingest.cli_tools import COMMANDS, codec_command, decode_command

LSE01_HEX = "CE2900F107A5099B6E2890"
# Raw DL-TBRG bytes (battery only) in a ChirpStack v4 event without a decoded object.
TBRG_EVENT = {"deviceInfo": {"devEui": "70b3d57ba0003bb8"}, "time": "2026-12-04T05:00:00+07:00",
              "fPort": 1, "data": "AgL4AAIMVA=="}
# No PostgreSQL listens on port 1 of the loopback address, so connecting fails at once.
UNREACHABLE_DATABASE = "postgresql://vuonso:vuonso@127.0.0.1:1/vuonso"


def run(command: object, args: list[str], *, input_bytes: bytes | None = None,
        env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(command, args, input=input_bytes, env=env)  # type: ignore[arg-type]


def lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def write_event(tmp_path: Path, body: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


def test_commands_join_ingest_group() -> None:
    assert [command.name for command in COMMANDS] == ["decode", "codec"]
    assert ingest_group.commands["decode"] is decode_command
    assert ingest_group.commands["codec"] is codec_command


def test_decode_prints_reading_lines() -> None:
    path = shared_data("lorawan-uplinks", "thingsboard-data-converters", "DL-5TM", "ChirpStack",
                       "payload.json")
    result = run(decode_command, ["--format", "chirpstack", str(path),
                                  "--model", "decentlab-dl-5tm"])
    assert result.exit_code == 0, result.output
    assert lines(result) == [
        {"device": "70b3d57ba0003bb8", "metric": "soil_permittivity",
         "time": "2024-11-10T12:51:50Z", "value": 1.1, "unit": "1"},
        {"device": "70b3d57ba0003bb8", "metric": "soil_moisture",
         "time": "2024-11-10T12:51:50Z", "value": -2.15397767, "unit": "%"},
        {"device": "70b3d57ba0003bb8", "metric": "soil_temperature",
         "time": "2024-11-10T12:51:50Z", "value": 22.5, "unit": "°C"},
        {"device": "70b3d57ba0003bb8", "metric": "battery",
         "time": "2024-11-10T12:51:50Z", "value": 3.168, "unit": "V"},
    ]
    assert result.stderr == ""


def test_decode_reports_rejected_on_stderr() -> None:
    payload = (b'{"device": "st-0001", "time": "2026-12-04T12:00:00+07:00",'
               b' "readings": {"air_temperature": "77 \xc2\xb0F", "rainfall": "Infinity"}}')
    result = run(decode_command, ["--format", "json", "-"], input_bytes=payload)
    assert result.exit_code == 0, result.output
    assert lines(result) == [{"device": "st-0001", "metric": "air_temperature",
                              "time": "2026-12-04T05:00:00Z", "value": 25.0, "unit": "°C"}]
    assert result.stderr.startswith("rejected value_not_finite: device st-0001: rainfall")


def test_decode_whole_message_rejected_exits_nonzero() -> None:
    result = run(decode_command, ["--format", "json", "--topic", "vuonso/devices/st-0002/up",
                                  "-"], input_bytes=b'{"device": "st-0001", "readings": {}}')
    assert result.exit_code == 1
    assert "device_mismatch: topic names device 'st-0002'" in result.stderr
    assert result.stdout == ""


def test_decode_object_needs_no_database(tmp_path: Path) -> None:
    body = {**TBRG_EVENT, "object": {"temperature": 24.5, "humidity": 81}}
    result = run(decode_command, ["--format", "chirpstack", write_event(tmp_path, body)],
                 env={"DATABASE_URL": UNREACHABLE_DATABASE})
    assert result.exit_code == 0, result.output
    assert [line["metric"] for line in lines(result)] == ["air_temperature",
                                                          "relative_humidity"]


def test_decode_raw_bytes_unreachable_database_asks_for_model(tmp_path: Path) -> None:
    result = run(decode_command, ["--format", "chirpstack", write_event(tmp_path, TBRG_EVENT)],
                 env={"DATABASE_URL": UNREACHABLE_DATABASE})
    assert result.exit_code == 1
    assert "cannot read the model of device 70b3d57ba0003bb8" in result.stderr
    assert "pass --model NAME" in result.stderr


def test_decode_raw_bytes_with_registry_model(tmp_path: Path, db: psycopg.Connection,
                                              database_url: str) -> None:
    devices.register_device(db, "tbrg-01", "decentlab-dl-tbrg", 108.05, 12.68,
                            dev_eui="70B3D57BA0003BB8")
    result = run(decode_command, ["--format", "chirpstack", write_event(tmp_path, TBRG_EVENT)],
                 env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert lines(result) == [{"device": "70b3d57ba0003bb8", "metric": "battery",
                              "time": "2026-12-03T22:00:00Z", "value": 3.156, "unit": "V"}]


def test_decode_unregistered_device_suggests_model(tmp_path: Path, db: psycopg.Connection,
                                                   database_url: str) -> None:
    result = run(decode_command, ["--format", "chirpstack", write_event(tmp_path, TBRG_EVENT)],
                 env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "unknown_device: device '70b3d57ba0003bb8' is not registered" in result.stderr
    assert "or pass --model NAME" in result.stderr


def test_decode_unknown_model_lists_known() -> None:
    result = run(decode_command, ["--format", "tts", "--model", "rainwise-9000", "-"],
                 input_bytes=b"{}")
    assert result.exit_code == 2
    assert "unknown model 'rainwise-9000'" in result.stderr
    assert "dragino-lse01" in result.stderr


def test_codec_prints_vendor_object() -> None:
    result = run(codec_command, ["dragino-lse01", "--port", "2", "--hex", LSE01_HEX])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"Bat": 3.625, "TempC_DS18B20": "24.1",
                                         "water_SOIL": "19.57", "temp_SOIL": "24.59",
                                         "conduct_SOIL": 28200}


def test_codec_accepts_base64() -> None:
    result = run(codec_command, ["decentlab-dl-tbrg", "--port", "1", "--base64", "AgL4AAIMVA=="])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["battery_voltage"]["value"] == 3.156


CODEC_ERRORS = [
    # (arguments, exit status, fragment of the error output)
    (["dragino-lse01", "--port", "42", "--hex", LSE01_HEX], 1,
     "codec_failed: dragino-lse01: unknown FPort 42"),
    (["dragino-lse01", "--port", "2", "--hex", "CE2900F1"], 1,
     "short payload: an FPort 2 reading needs 11 bytes, got 4"),
    (["dragino-lse01", "--port", "2", "--hex", "CE29zz"], 2, "is not hexadecimal bytes"),
    (["dragino-lse01", "--port", "2", "--base64", "%%%"], 2, "is not valid base64"),
    (["dragino-lse01", "--port", "2"], 2, "exactly one of --hex or --base64"),
    (["dragino-lse01", "--port", "2", "--hex", "00", "--base64", "AA=="], 2,
     "exactly one of --hex or --base64"),
    (["rainwise-9000", "--port", "2", "--hex", "00"], 2, "unknown model 'rainwise-9000'"),
    (["vuonso-station", "--port", "2", "--hex", "00"], 2, "has no byte codec"),
    (["dragino-lse01", "--port", "300", "--hex", LSE01_HEX], 2, "300 is not in the range"),
]


@pytest.mark.parametrize(("args", "status", "fragment"), CODEC_ERRORS,
                         ids=[f"{index}-{row[2][:30]}" for index, row in enumerate(CODEC_ERRORS)])
def test_codec_errors(args: list[str], status: int, fragment: str) -> None:
    result = run(codec_command, args)
    assert result.exit_code == status
    assert fragment in result.stderr


def test_codec_through_installed_entry_point() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", "from vuonso.cli import main; main()", "ingest", "codec",
         "milesight-em500-smtc", "--port", "85", "--hex", "01756403671901046873057ff000"],
        capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {"battery": 100, "temperature": 28.1,
                                            "moisture": 57.5, "ec": 240}
