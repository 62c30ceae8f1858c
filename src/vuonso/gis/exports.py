"""Export the current plots of a farm or a company to a vector file (see gis.writers)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from vuonso.core.errors import NotFoundError
from vuonso.gis import plots
from vuonso.gis.errors import GisError
from vuonso.gis.io.fields import fold
from vuonso.gis.writers import EXPORT_FORMATS, PlotFeature, write_plots

log = logging.getLogger(__name__)

PAGE_SIZE = 1000


@dataclass(frozen=True)
class ExportedFile:
    """A written export: where it is, the download name, its media type and plot count."""

    path: Path
    file_name: str
    media_type: str
    plot_count: int


def export_file_name(format_key: str, *, farm_code: str | None = None,
                     company_code: str | None = None, today: date | None = None) -> str:
    """Download name such as 'plots-farm-nt1-20250704.geojson' (ASCII only)."""
    scope = f"farm-{farm_code}" if farm_code else f"company-{company_code}"
    safe = "-".join(part for part in (fold(piece) for piece in scope.split("-")) if part)
    stamp = (today or date.today()).strftime("%Y%m%d")
    return f"plots-{safe}-{stamp}{EXPORT_FORMATS[format_key].suffix}"


def export_plots(conn: psycopg.Connection, format_key: str, destination: Path, *,
                 farm_code: str | None = None, company_code: str | None = None,
                 workspace: str = "production") -> ExportedFile:
    """Write the current plots of one farm or one company to `destination`.

    Raises GisError for an unknown format or when not exactly one of farm and company is given,
    NotFoundError when the farm or company has no plots.
    """
    if format_key not in EXPORT_FORMATS:
        known = ", ".join(EXPORT_FORMATS)
        raise GisError(f"unknown export format {format_key!r}; use one of {known}",
                       key="gis.export.unknown_format", value=format_key, formats=known)
    if bool(farm_code) == bool(company_code):
        raise GisError("give exactly one of farm and company",
                       key="gis.export.scope", farm=farm_code or "", company=company_code or "")
    if farm_code:
        plots.farm_id_by_code(conn, farm_code, workspace)  # NotFoundError naming `vuonso gis farms`
    rows = _all_plots(conn, workspace, farm_code, company_code)
    if not rows:
        scope = f"farm {farm_code}" if farm_code else f"company {company_code}"
        raise NotFoundError(f"{scope} has no plots in workspace {workspace!r}",
                            key="gis.export.empty", scope=scope, workspace=workspace)

    geometries = plots.current_geometries(conn, [int(row["id"]) for row in rows])
    features = [PlotFeature(_values(row), geometries[int(row["id"])]) for row in rows]
    scope_text = f"farm {farm_code}" if farm_code else f"company {company_code}"
    write_plots(features, format_key, destination, description=f"Plots of {scope_text}")
    log.info("exported %d plots of %s as %s", len(features), scope_text, format_key)
    return ExportedFile(destination, export_file_name(format_key, farm_code=farm_code,
                                                      company_code=company_code),
                        EXPORT_FORMATS[format_key].media_type, len(features))


def _all_plots(conn: psycopg.Connection, workspace: str, farm_code: str | None,
               company_code: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = plots.list_plots(conn, workspace=workspace, farm_code=farm_code,
                                company_code=company_code, limit=PAGE_SIZE, offset=len(rows))
        rows.extend(page)
        if len(page) < PAGE_SIZE:
            return rows


def _values(row: dict[str, Any]) -> dict[str, Any]:
    valid_from = row.get("geometry_valid_from")
    return {
        "code": row["code"],
        "farm": row["farm_code"],
        "company": row["company_code"],
        "crop": row["crop"],
        "planting_year": row["planting_year"],
        "clone": row["clone"],
        "tree_count": row["tree_count"],
        "tapping_system": row["tapping_system"],
        "status": row["status"],
        "team": row["team_code"],
        "area_ha": round(float(row["area_ha"]), 4),
        "geometry_valid_from": valid_from.isoformat() if valid_from else None,
    }
