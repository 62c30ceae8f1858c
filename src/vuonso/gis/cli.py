"""`vuonso gis ...`: plot files, areas and GPS tracks."""

from __future__ import annotations

import click

from vuonso.gis import cli_plots, cli_tracks


@click.group("gis")
def gis_group() -> None:
    """Plots, vector files and GPS tracks."""


for _command in [*cli_plots.COMMANDS, *cli_tracks.COMMANDS]:
    gis_group.add_command(_command)
