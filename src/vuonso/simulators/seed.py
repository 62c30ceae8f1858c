"""Store the demo corps through the GIS and ingest functions: idempotent and in one transaction.

A second run with the same seed finds every company, farm, plot and station already present and
creates nothing. A run interrupted half-way leaves nothing behind, because it is one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from vuonso.core.errors import NotFoundError
from vuonso.gis import plots as gis_plots
from vuonso.ingest import devices as ingest_devices
from vuonso.simulators.corps import PROVINCE, Corps
from vuonso.simulators.errors import SeedConflict

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeedReport:
    """Records created by one seed run, and the corps' totals after it."""

    companies_created: int
    farms_created: int
    teams_created: int
    plots_created: int
    stations_created: int
    plots_total: int
    stations_total: int


def _existing_plots(conn: psycopg.Connection,
                    corps: Corps) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Plot ids by (farm code, plot code) and company ids by code, for the corps' farms."""
    farm_codes = {farm.code for farm in corps.farms}
    company_codes = {company.code for company in corps.companies}
    plot_ids: dict[tuple[str, str], int] = {}
    company_ids: dict[str, int] = {}
    for row in gis_plots.list_plots(conn, limit=1_000_000):
        if row["company_code"] in company_codes:
            company_ids[row["company_code"]] = int(row["company_id"])
        if row["farm_code"] in farm_codes:
            plot_ids[(row["farm_code"], row["code"])] = int(row["id"])
    return plot_ids, company_ids


def _create_company(conn: psycopg.Connection, code: str, name: str, kind: str) -> int:
    try:
        with conn.transaction():
            return gis_plots.create_company(conn, code, name, kind=kind, province=PROVINCE)
    except psycopg.errors.UniqueViolation as exc:
        raise SeedConflict(
            f"company {code!r} exists but contains none of the demo plots; the demo corps needs its "
            "codes, so seed an empty database or remove that company",
            company=code,
        ) from exc


def seed_demo_corps(conn: psycopg.Connection, corps: Corps) -> SeedReport:
    """Create whatever part of `corps` is missing: companies, farms, teams, plots, stations."""
    created = {"companies": 0, "farms": 0, "teams": 0, "plots": 0, "stations": 0}
    with conn.transaction():
        plot_ids, company_ids = _existing_plots(conn, corps)

        # Companies and their teams; teams are only created with a new company.
        new_companies = set()
        for company in corps.companies:
            if company.code not in company_ids:
                company_ids[company.code] = _create_company(conn, company.code, company.name, company.kind)
                new_companies.add(company.code)
                created["companies"] += 1

        farm_ids: dict[str, int] = {}
        for farm in corps.farms:
            try:
                farm_ids[farm.code] = gis_plots.farm_id_by_code(conn, farm.code)
            except NotFoundError:
                farm_ids[farm.code] = gis_plots.create_farm(conn, company_ids[farm.company_code],
                                                            farm.code, farm.name)
                created["farms"] += 1

        for team in corps.teams:
            if team.company_code in new_companies:
                gis_plots.create_team(conn, company_ids[team.company_code], team.code, team.name,
                                      farm_id=farm_ids[team.farm_code])
                created["teams"] += 1

        # Plots, then the stations placed inside them.
        for plot in corps.plots:
            key = (plot.farm_code, plot.fields.code)
            if key not in plot_ids:
                plot_ids[key] = gis_plots.create_plot(conn, farm_ids[plot.farm_code], plot.fields,
                                                      plot.geometry, source=f"demo corps, seed {corps.seed}")
                created["plots"] += 1

        known = ingest_devices.lookup(conn, [station.device_id for station in corps.stations])
        for station in corps.stations:
            if station.device_id in known:
                continue
            plot_id = ingest_devices.register_device(
                conn, station.device_id, station.model, station.lon, station.lat,
                dev_eui=station.dev_eui, name=f"{station.farm_code} {station.plot_code}",
            )
            expected = plot_ids[(station.farm_code, station.plot_code)]
            if plot_id != expected:
                raise SeedConflict(
                    f"station {station.device_id} landed in plot {plot_id}, not in its demo plot "
                    f"{expected}; another plot overlaps the demo area, so seed an empty database",
                    device=station.device_id,
                )
            created["stations"] += 1

    report = SeedReport(
        companies_created=created["companies"], farms_created=created["farms"],
        teams_created=created["teams"], plots_created=created["plots"],
        stations_created=created["stations"], plots_total=len(corps.plots),
        stations_total=len(corps.stations),
    )
    log.info("demo corps seed %d: created %d companies, %d farms, %d teams, %d plots, %d stations",
             corps.seed, report.companies_created, report.farms_created, report.teams_created,
             report.plots_created, report.stations_created)
    return report
