"""`vuonso gis gpx-summary | import-gpx | tracks | assign-device | visits`: GPS tracks and visits."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from vuonso.core.db import connect
from vuonso.core.settings import load_settings
from vuonso.gis import fixes, tracks, visits
from vuonso.gis.gpx import parse_gpx, summarize


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@click.command("gpx-summary")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def gpx_summary_command(file: Path) -> None:
    """Print the tracks of a GPX file as JSON: segments, points, length in metres, UTC span.

    Routes are listed apart under "routes" with their point count and length.
    """
    _print_json(summarize(parse_gpx(file.read_bytes(), source=file.name)))


@click.command("import-gpx")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--worker", required=True, help="Id of the worker who walked the tracks.")
@click.option("--device", default=None, help="Id of the GPS device that recorded them.")
@click.option("--workspace", default="production", show_default=True,
              help="Workspace code the tracks belong to.")
def import_gpx_command(file: Path, worker: str, device: str | None, workspace: str) -> None:
    """Store the tracks of a GPX file for a worker. Importing it again changes nothing."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        result = tracks.import_gpx(conn, file.read_bytes(), worker=worker,
                                   source_file=file.name, device=device, workspace=workspace)
        conn.commit()
    _print_json({"track_ids": result.track_ids, "created": result.created,
                 "summary": result.summary})


@click.command("tracks")
@click.option("--worker", default=None, help="Only the tracks of this worker.")
@click.option("--workspace", default="production", show_default=True,
              help="Workspace code to list.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Maximum number of tracks to print.")
def tracks_command(worker: str | None, workspace: str, limit: int) -> None:
    """List imported tracks, newest first, as JSON."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        _print_json(tracks.list_tracks(conn, worker=worker, workspace=workspace, limit=limit))


@click.command("assign-device")
@click.argument("device")
@click.option("--worker", default=None,
              help="Id of the worker who carries the device; omit to unassign it.")
@click.option("--workspace", default="production", show_default=True,
              help="Workspace code the device belongs to.")
@click.option("--name", default=None, help="A label for the device, such as its phone model.")
def assign_device_command(device: str, worker: str | None, workspace: str,
                          name: str | None) -> None:
    """Register a GPS device or hand it to a worker, so that later fixes carry that worker."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        fixes.assign_device(conn, device, worker, workspace=workspace, name=name)
        conn.commit()
    click.echo(f"device {device} assigned to {worker or 'nobody'}")


@click.command("visits")
@click.option("--worker", required=True, help="Id of the worker.")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Local calendar day (YYYY-MM-DD) in the TIMEZONE setting.")
@click.option("--max-gap-s", default=visits.DEFAULT_MAX_GAP_S, show_default=True,
              type=click.FloatRange(min=1.0),
              help="A gap between positions longer than this, in seconds, ends a visit.")
@click.option("--workspace", default="production", show_default=True,
              help="Workspace code of the plots and devices.")
def visits_command(worker: str, day: datetime, max_gap_s: float, workspace: str) -> None:
    """Print the plots a worker visited on a day with entry, exit, seconds and metres inside."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        _print_json(visits.visits_report(conn, worker, day.date(), timezone=settings.timezone,
                                         max_gap_s=max_gap_s, workspace=workspace))


COMMANDS = [gpx_summary_command, import_gpx_command, tracks_command, assign_device_command,
            visits_command]
