"""The `vuonso` command: one subcommand group per area."""

from __future__ import annotations

import importlib
import sys

import click

from vuonso.core.errors import VuonSoError
from vuonso.core.logs import setup_logging

# (module, attribute) of each area's click group; a missing module means that area has not landed.
_GROUPS = (
    ("vuonso.core.cli", "db_group"),
    ("vuonso.ingest.cli", "ingest_group"),
    ("vuonso.gis.cli", "gis_group"),
    ("vuonso.api.cli", "api_group"),
    ("vuonso.simulators.cli", "simulate_group"),
    ("vuonso.demo", "demo_command"),
)


@click.group()
@click.option("--log-level", default=None, help="Logging level (DEBUG, INFO, WARNING); "
              "default from LOG_LEVEL or INFO.")
def cli(log_level: str | None) -> None:
    """Vườn Số plantation platform."""
    setup_logging(log_level)


for _module, _attribute in _GROUPS:
    try:
        cli.add_command(getattr(importlib.import_module(_module), _attribute))
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise


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
