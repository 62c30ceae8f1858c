"""`vuonso gis ...`: plot files, areas and GPS tracks."""

from __future__ import annotations

import importlib

import click


@click.group("gis")
def gis_group() -> None:
    """Plots, vector files and GPS tracks."""


# Subcommand modules, each exposing `COMMANDS`, a list of click commands.
for _name in ("vuonso.gis.cli_plots", "vuonso.gis.cli_tracks"):
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name != _name:
            raise
        continue
    for _command in _module.COMMANDS:
        gis_group.add_command(_command)
