"""`vuonso ingest run | dead-letters | replay | device-add | devices`."""

from __future__ import annotations

import json
import logging
import signal
from types import FrameType

import click

from vuonso.core.db import connect
from vuonso.core.settings import load_settings

log = logging.getLogger(__name__)


@click.command("run")
@click.option("--client-id", default=None,
              help="MQTT client id; each worker of a shared subscription needs its own, stable "
                   "across restarts so the broker redelivers its unacknowledged messages. "
                   "Default MQTT_CLIENT_ID.")
def run_command(client_id: str | None) -> None:
    """Run the ingest worker until SIGINT or SIGTERM."""
    from vuonso.ingest.worker import IngestWorker

    settings = load_settings()
    worker = IngestWorker(settings, client_id=client_id)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received, stopping after the current batch", signum)
        worker.stop()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    worker.run()


@click.command("dead-letters")
@click.option("--all", "show_all", is_flag=True, help="Include dead letters already replayed.")
@click.option("--reason", default=None, help="Only this reason code, e.g. unknown_device.")
@click.option("--limit", type=int, default=50, show_default=True, help="Maximum rows listed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, payload included.")
def dead_letters_command(show_all: bool, reason: str | None, limit: int, as_json: bool) -> None:
    """List rejected messages, newest first, with their reason."""
    from vuonso.ingest.deadletters import count_by_reason, list_dead_letters

    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        rows = list_dead_letters(conn, pending_only=not show_all, reason_code=reason, limit=limit)
        counts = count_by_reason(conn)
    for row in rows:
        payload = bytes(row.pop("payload"))
        if as_json:
            row["received_at"] = row["received_at"].isoformat()
            row["replayed_at"] = row["replayed_at"].isoformat() if row["replayed_at"] else None
            row["payload"] = payload.decode("utf-8", errors="replace")
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['id']}\t{row['received_at'].isoformat()}\t{row['topic']}\t"
                       f"{row['reason_code']}\t{row['reason']}")
    if not as_json:
        summary = ", ".join(f"{code}: {count}" for code, count in counts.items()) or "none"
        click.echo(f"pending by reason: {summary}", err=True)


@click.command("replay")
@click.option("--id", "ids", type=int, multiple=True, help="Dead letter id (repeatable).")
@click.option("--reason", default=None, help="Replay every pending letter with this reason code.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every pending dead letter.")
def replay_command(ids: tuple[int, ...], reason: str | None, replay_all: bool) -> None:
    """Run pending dead letters through decoding and storage again, after a fix."""
    from vuonso.ingest.deadletters import replay

    if not (ids or reason or replay_all):
        raise click.UsageError("choose what to replay: --id N, --reason CODE or --all")
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn, conn.transaction():
        results = replay(conn, settings, ids=list(ids) or None, reason_code=reason)
    passed = sum(1 for r in results if not r.still_rejected)
    for result in results:
        state = f"rejected again: {result.reason}" if result.still_rejected else "stored"
        click.echo(f"{result.dead_letter_id}\t{result.stored} readings\t{state}")
    click.echo(f"replayed {len(results)} dead letters: {passed} stored, "
               f"{len(results) - passed} still rejected", err=True)


@click.command("device-add")
@click.argument("device_id")
@click.option("--model", required=True, help="Device model, e.g. dragino-lse01 or vuonso-station.")
@click.option("--lon", type=float, required=True, help="Longitude in degrees (WGS 84).")
@click.option("--lat", type=float, required=True, help="Latitude in degrees (WGS 84).")
@click.option("--dev-eui", default=None, help="LoRaWAN DevEUI, 16 hex digits.")
@click.option("--name", default=None, help="Display name.")
def device_add_command(device_id: str, model: str, lon: float, lat: float, dev_eui: str | None,
                       name: str | None) -> None:
    """Register a device at a position; the plot containing it is assigned."""
    from vuonso.ingest.devices import register_device

    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn, conn.transaction():
        plot_id = register_device(conn, device_id, model, lon, lat, dev_eui=dev_eui, name=name)
    where = f"plot {plot_id}" if plot_id else "no plot contains this position"
    click.echo(f"registered {device_id} ({model}): {where}")


@click.command("devices")
@click.option("--plot", "plot_id", type=int, default=None, help="Only devices in this plot id.")
def devices_command(plot_id: int | None) -> None:
    """List registered devices with their position and plot."""
    from vuonso.ingest.devices import list_devices

    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        for row in list_devices(conn, plot_id=plot_id, limit=100_000):
            click.echo(f"{row['device_id']}\t{row['model']}\t{row['dev_eui'] or ''}\t"
                       f"{row['plot_id'] or ''}\t{row['lon']:.6f}\t{row['lat']:.6f}")


COMMANDS = [run_command, dead_letters_command, replay_command, device_add_command, devices_command]
