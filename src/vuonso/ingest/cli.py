"""`vuonso ingest ...`: the ingest worker, dead letters and tools for integrators."""

from __future__ import annotations

import click

from vuonso.ingest import cli_tools, cli_worker


@click.group("ingest")
def ingest_group() -> None:
    """Sensor ingest: worker, dead letters, payload decoding."""


for _command in [*cli_worker.COMMANDS, *cli_tools.COMMANDS]:
    ingest_group.add_command(_command)
