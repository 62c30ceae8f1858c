"""`vuonso gis import | area | export`: plot files from and to the registry."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from vuonso.core.errors import InvalidInput
from vuonso.gis.io.fields import PLOT_FIELDS

_CRS_HELP = ("CRS of the file's coordinates when it declares none, e.g. EPSG:3405 or "
             "VN2000-TM3-GIALAI (also KONTUM, DAKLAK, DAKNONG, BINHPHUOC, LAMDONG, BINHDINH, "
             "PHUYEN); rejected when the file declares a different one.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--farm", "farm_code", required=True, help="Code of the farm receiving the plots.")
@click.option("--crs", default=None, help=_CRS_HELP)
@click.option("--dry-run", is_flag=True, help="Check and report without writing anything.")
@click.option("--repair", is_flag=True,
              help="Fix invalid boundaries with make_valid and report each area change.")
@click.option("--map", "mappings", multiple=True, metavar="FIELD=ATTR",
              help=f"Read plot field FIELD from file attribute ATTR (FIELD= for none). "
                   f"Fields: {', '.join(PLOT_FIELDS)}.")
@click.option("--crop", "default_crop", type=click.Choice(["rubber", "coffee"]), default=None,
              help="Crop of new plots whose file gives none.")
@click.option("--layer", default=None, help="Layer to read from a GeoPackage with several.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def import_command(file: Path, farm_code: str, crs: str | None, dry_run: bool, repair: bool,
                   mappings: tuple[str, ...], default_crop: str | None, layer: str | None,
                   as_json: bool) -> None:
    """Import plot boundaries from FILE (GeoJSON, KML, KMZ, zipped SHP, GPKG, GPX) into a farm."""
    from vuonso.core.db import connect
    from vuonso.core.settings import load_settings
    from vuonso.gis.imports import ImportOptions, import_file
    from vuonso.gis.io.fields import parse_overrides

    settings = load_settings()
    options = ImportOptions(crs=crs, dry_run=dry_run, repair=repair,
                            mapping=parse_overrides(mappings), default_crop=default_crop,
                            layer=layer, language=settings.language)
    with connect(settings.database_url.get_secret_value()) as conn:
        try:
            report = import_file(conn, file, farm_code, options)
        except InvalidInput as exc:
            _print_problems(exc.problems)
            raise
        conn.commit()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_summary(report.as_dict())
    if report.problems:
        sys.exit(1)


@click.command("area")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default=None, help=_CRS_HELP)
@click.option("--layer", default=None, help="Layer to read from a GeoPackage with several.")
def area_command(file: Path, crs: str | None, layer: str | None) -> None:
    """Print each feature's index, id and geodesic area in hectares, tab-separated.

    Holes are subtracted whatever their winding, MultiPolygon parts are summed and Z is ignored.
    A feature without a polygon gets an empty area and a note on standard error.
    """
    from vuonso.gis.area import area_ha
    from vuonso.gis.crs import choose_source_crs, reproject, wgs84_transformer
    from vuonso.gis.io.readers import read_plot_file

    source = read_plot_file(file, layer=layer)
    chosen = choose_source_crs(source.format, source.declared_crs, crs)
    transformer = wgs84_transformer(chosen.crs)
    for feature in source.features:
        geometry = feature.geometry
        polygonal = geometry is not None and geometry.geom_type in ("Polygon", "MultiPolygon")
        if geometry is None or not polygonal:
            kind = "no geometry" if geometry is None else geometry.geom_type
            click.echo(f"feature {feature.index}: {kind}, not a polygon", err=True)
            click.echo(f"{feature.index}\t{feature.fid or ''}\t")
            continue
        hectares = area_ha(reproject(geometry, transformer))
        click.echo(f"{feature.index}\t{feature.fid or ''}\t{hectares:.4f}")


@click.command("export")
@click.option("--farm", "farm_code", default=None, help="Export the plots of this farm.")
@click.option("--company", "company_code", default=None,
              help="Export the plots of every farm of this company.")
@click.option("--format", "format_key", type=click.Choice(["geojson", "kml", "gpkg", "shp"]),
              required=True, help="File format; shp is written as a .zip.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (replaced if it exists).")
def export_command(farm_code: str | None, company_code: str | None, format_key: str,
                   output: Path) -> None:
    """Export current plot boundaries in EPSG:4326 with their attributes and area_ha."""
    from vuonso.core.db import connect
    from vuonso.core.settings import load_settings
    from vuonso.gis.exports import export_plots

    if bool(farm_code) == bool(company_code):
        raise click.UsageError("give exactly one of --farm and --company")
    if format_key == "shp" and output.suffix.lower() != ".zip":
        # The shapefile comes as one zip of .shp, .shx, .dbf, .prj and .cpg, so name it as such.
        output = output.with_name(output.name + ".zip")
    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        exported = export_plots(conn, format_key, output, farm_code=farm_code,
                                company_code=company_code)
    click.echo(f"wrote {exported.plot_count} plots to {output}")


def _print_summary(report: dict[str, Any]) -> None:
    counts = report["counts"]
    state = "dry run, nothing written" if report["dry_run"] else (
        f"import {report['import_id']} committed" if report["committed"] else "nothing written")
    click.echo(f"{report['file']} ({report['format']}, {report['source_crs']}): {state}")
    mapped = ", ".join(f"{k}={v}" for k, v in report["mapping"].items() if v)
    click.echo(f"mapping: {mapped or '(none)'}")
    click.echo("created {created}, updated {updated}, unchanged {unchanged}, rejected {rejected}, "
               "repaired {repaired}".format(**counts))
    for feature in report["features"]:
        area = "" if feature["area_ha"] is None else f"{feature['area_ha']:.4f} ha"
        click.echo(f"  #{feature['feature']}\t{feature['code'] or ''}\t{feature['action']}\t{area}")
    for repair in report["repairs"]:
        click.echo(f"  repaired #{repair['feature']} ({', '.join(repair['fixed'])}): "
                   f"{repair['area_before_ha']:.4f} -> {repair['area_after_ha']:.4f} ha "
                   f"({repair['area_change_ha']:+.4f} ha)")
    _print_problems(report["problems"])


def _print_problems(problems: list[dict[str, Any]]) -> None:
    for problem in problems:
        where = problem.get("location")
        suffix = f" at {where[0]}, {where[1]}" if where else ""
        click.echo(f"  {problem.get('problem', '')}: {problem.get('message', '')}{suffix}",
                   err=True)


@click.command("farms")
def farms_command() -> None:
    """List companies and farms with their codes and numbers of plots."""
    from vuonso.core.db import connect
    from vuonso.core.settings import load_settings
    from vuonso.gis.plots import list_farms

    settings = load_settings()
    with connect(settings.database_url.get_secret_value()) as conn:
        for farm in list_farms(conn):
            click.echo(f"{farm['company_code']}\t{farm['code']}\t{farm['name']}\t"
                       f"{farm['plots']} plots")


COMMANDS = [import_command, area_command, export_command, farms_command]
