"""The `vuonso` command: one subcommand group per area."""

from __future__ import annotations

import sys

import click

from vuonso.api.cli import api_group
from vuonso.core.cli import db_group
from vuonso.core.errors import VuonSoError
from vuonso.core.logs import setup_logging
from vuonso.demo import demo_command
from vuonso.gis.cli import gis_group
from vuonso.ingest.cli import ingest_group
from vuonso.simulators.cli import simulate_group


@click.group()
@click.option("--log-level", default=None, help="Logging level (DEBUG, INFO, WARNING); "
              "default from LOG_LEVEL or INFO.")
def cli(log_level: str | None) -> None:
    """Vườn Số plantation platform."""
    setup_logging(log_level)


cli.add_command(db_group)
cli.add_command(ingest_group)
cli.add_command(gis_group)
cli.add_command(api_group)
cli.add_command(simulate_group)
cli.add_command(demo_command)


def main() -> None:
    """Run the command line, turning platform errors into one message and exit status 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except VuonSoError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
