"""`vuonso ingest ...`: the ingest worker, dead letters and tools for integrators."""

from __future__ import annotations

import importlib

import click


@click.group("ingest")
def ingest_group() -> None:
    """Sensor ingest: worker, dead letters, payload decoding."""


# Subcommand modules, each exposing `COMMANDS`, a list of click commands.
for _name in ("vuonso.ingest.cli_worker", "vuonso.ingest.cli_tools"):
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
        continue
    for _command in _module.COMMANDS:
        ingest_group.add_command(_command)
