"""`vuonso ingest decode` and `vuonso ingest codec`: try payloads and codecs by hand."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import IO

import click
import psycopg

from vuonso.core.db import connect
from vuonso.core.errors import ConfigError, DatabaseError
from vuonso.core.settings import load_settings
from vuonso.ingest import devices
from vuonso.ingest.codecs import MODELS
from vuonso.ingest.decoders import FORMATS, decode
from vuonso.ingest.errors import DecodeError, UnknownDevice
from vuonso.ingest.model import DecodedMessage, Reading

_MODEL_HELP = "Device model for raw bytes ({}); default: the model in the device registry."


def _known_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value not in MODELS:
        raise click.BadParameter(f"unknown model {value!r}; use one of {sorted(MODELS)}",
                                 ctx=ctx, param=param)
    return value


def _registry_model(identifier: str) -> str | None:
    """Look a device's model up in the registry of the configured database."""
    try:
        settings = load_settings()
        with connect(settings.database_url.get_secret_value()) as conn:
            found = devices.lookup(conn, [identifier])
    except (ConfigError, DatabaseError) as exc:
        raise click.ClickException(
            f"cannot read the model of device {identifier} from the device registry: "
            f"{exc.message}; pass --model NAME instead") from exc
    except psycopg.Error as exc:
        raise click.ClickException(
            f"device registry query for {identifier} failed: {exc}; run `vuonso db upgrade` "
            "or pass --model NAME instead") from exc
    record = found.get(identifier)
    return record.model if record else None


def _reading_line(reading: Reading) -> str:
    time = reading.time.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"device": reading.device, "metric": reading.metric, "time": time,
                       "value": reading.value, "unit": reading.unit}, ensure_ascii=False)


def _decode_payload(fmt: str, topic: str, payload: bytes, model: str | None) -> DecodedMessage:
    received_at = datetime.now(UTC)
    if model is not None:
        return decode(fmt, topic, payload, received_at=received_at, model_for=lambda _: model)
    try:
        # Objects decoded by a network server need no model, so the database is used for bytes.
        return decode(fmt, topic, payload, received_at=received_at)
    except DecodeError as exc:
        if exc.reason_code != "model_missing":
            raise
    return decode(fmt, topic, payload, received_at=received_at, model_for=_registry_model)


@click.command("decode")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="Payload format: json (native), senml, chirpstack (v4 or v3 event), tts.")
@click.argument("file", type=click.File("rb"))
@click.option("--model", callback=_known_model, default=None,
              help=_MODEL_HELP.format(", ".join(sorted(MODELS))))
@click.option("--topic", default="",
              help="MQTT topic the payload arrived on; its device must match the payload's.")
def decode_command(fmt: str, file: IO[bytes], model: str | None, topic: str) -> None:
    """Print the readings of one payload FILE ('-' for standard input) as JSON lines.

    Rejected readings go to standard error with their reason code. The exit status is 1 when
    the payload as a whole is rejected.
    """
    payload = file.read()
    try:
        message = _decode_payload(fmt, topic, payload, model)
    except UnknownDevice as exc:
        raise click.ClickException(f"{exc.reason_code}: {exc.message}; or pass --model NAME "
                                   "to decode without the registry") from exc
    except DecodeError as exc:
        raise click.ClickException(f"{exc.reason_code}: {exc.message}") from exc

    for reading in message.readings:
        click.echo(_reading_line(reading))
    for reason_code, text in message.rejected:
        click.echo(f"rejected {reason_code}: {text}", err=True)


def _payload_bytes(hex_text: str | None, base64_text: str | None) -> bytes:
    if (hex_text is None) == (base64_text is None):
        raise click.UsageError("give the payload with exactly one of --hex or --base64")
    if hex_text is not None:
        try:
            return bytes.fromhex(hex_text.removeprefix("0x").replace(":", " "))
        except ValueError as exc:
            raise click.BadParameter(f"{hex_text!r} is not hexadecimal bytes ({exc}); write "
                                     "them like 0202f800020c54", param_hint="--hex") from exc
    assert base64_text is not None
    try:
        return base64.b64decode(base64_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise click.BadParameter(f"{base64_text!r} is not valid base64 ({exc})",
                                 param_hint="--base64") from exc


@click.command("codec")
@click.argument("model")
@click.option("--port", type=click.IntRange(0, 255), required=True,
              help="LoRaWAN FPort the bytes arrived on.")
@click.option("--hex", "hex_text", default=None, help="Payload bytes in hexadecimal.")
@click.option("--base64", "base64_text", default=None,
              help="Payload bytes in base64, as network servers show them.")
def codec_command(model: str, port: int, hex_text: str | None, base64_text: str | None) -> None:
    """Decode raw bytes of device MODEL and print the vendor's decoded object as JSON."""
    if model not in MODELS:
        raise click.BadParameter(f"unknown model {model!r}; use one of {sorted(MODELS)}",
                                 param_hint="MODEL")
    codec = MODELS[model]
    if codec is None:
        raise click.BadParameter(f"model {model!r} sends JSON or SenML and has no byte codec; "
                                 "try `vuonso ingest decode --format json`", param_hint="MODEL")
    data = _payload_bytes(hex_text, base64_text)
    try:
        obj = codec.decode(port, data)
    except DecodeError as exc:
        raise click.ClickException(f"{exc.reason_code}: {exc.message}") from exc
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


COMMANDS = [decode_command, codec_command]
