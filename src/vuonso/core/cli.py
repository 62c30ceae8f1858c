"""`vuonso db ...`: database migrations."""

from __future__ import annotations

import click

from vuonso.core import migrate
from vuonso.core.db import connect
from vuonso.core.settings import load_settings


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        applied = migrate.upgrade(conn, settings)
    if applied:
        for migration in applied:
            click.echo(f"applied {migration.version:04d}_{migration.name}")
    else:
        click.echo("database is up to date")


@db_group.command("status")
def status_command() -> None:
    """List migrations and whether each is applied."""
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        for row in migrate.status(conn):
            mark = "applied" if row["applied"] else "pending"
            click.echo(f"{row['version']:04d}_{row['name']}\t{row['package']}\t{mark}")
