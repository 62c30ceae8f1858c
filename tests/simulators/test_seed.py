"""Seeding the demo corps into the database: complete, idempotent, geometry intact."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from tests.support.services import REPO
from vuonso.gis.plots import create_company, list_plots
from vuonso.ingest.devices import list_devices
from vuonso.simulators.corps import Corps
from vuonso.simulators.errors import SeedConflict
from vuonso.simulators.seed import seed_demo_corps


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    counts = {}
    for name, query in {
        "companies": "SELECT count(*) FROM gis.companies",
        "farms": "SELECT count(*) FROM gis.farms",
        "teams": "SELECT count(*) FROM gis.teams",
        "plots": "SELECT count(*) FROM gis.plots",
        "geometries": "SELECT count(*) FROM gis.plot_geometries",
        "stations": "SELECT count(*) FROM ingest.devices",
        "placements": "SELECT count(*) FROM ingest.device_placements",
    }.items():
        row = conn.execute(query).fetchone()
        assert row is not None
        counts[name] = int(row[0])
    return counts


def test_seed_twice_changes_nothing(db: psycopg.Connection, corps: Corps) -> None:
    first = seed_demo_corps(db, corps)
    after_first = _counts(db)
    second = seed_demo_corps(db, corps)
    after_second = _counts(db)

    assert after_first == {"companies": 3, "farms": 6, "teams": 18, "plots": 200, "geometries": 200,
                           "stations": 400, "placements": 400}
    assert after_second == after_first
    assert (first.companies_created, first.plots_created, first.stations_created) == (3, 200, 400)
    assert (second.companies_created, second.farms_created, second.teams_created,
            second.plots_created, second.stations_created) == (0, 0, 0, 0, 0)


def test_seed_resumes_missing_stations(db: psycopg.Connection, corps: Corps) -> None:
    seed_demo_corps(db, corps)
    db.execute("DELETE FROM ingest.devices WHERE device_id IN ('st-0001', 'st-0400')")

    report = seed_demo_corps(db, corps)

    assert report.stations_created == 2
    assert report.plots_created == 0
    assert _counts(db)["stations"] == 400


def test_every_station_in_its_plot(db: psycopg.Connection, corps: Corps) -> None:
    seed_demo_corps(db, corps)
    plot_ids = {(row["farm_code"], row["code"]): row["id"] for row in list_plots(db, limit=1000)}
    devices = {row["device_id"]: row for row in list_devices(db, limit=1000)}

    for station in corps.stations:
        device = devices[station.device_id]
        assert device["plot_id"] == plot_ids[(station.farm_code, station.plot_code)], station.device_id
        assert device["model"] == station.model
        assert device["dev_eui"] == station.dev_eui
    row = db.execute(
        "SELECT count(*) FROM ingest.device_placements d JOIN gis.plot_geometries g"
        " ON g.plot_id = d.plot_id AND g.valid_to IS NULL"
        " WHERE d.valid_to IS NULL AND ST_Contains(g.geom, d.position)"
    ).fetchone()
    assert row == (400,)


def test_stored_plots_do_not_overlap(db: psycopg.Connection, corps: Corps) -> None:
    seed_demo_corps(db, corps)
    row = db.execute(
        "SELECT count(*) FROM gis.current_plots a JOIN gis.current_plots b"
        " ON a.id < b.id AND ST_Intersects(a.geom, b.geom)"
    ).fetchone()
    assert row == (0,)


def test_stored_areas_are_plausible(db: psycopg.Connection, corps: Corps) -> None:
    seed_demo_corps(db, corps)
    rows = list_plots(db, limit=1000)
    areas = [row["area_ha"] for row in rows]
    assert all(7.0 <= area <= 27.6 for area in areas)
    # The stored geodesic area agrees with PostGIS's own geography area to within 0.5 %.
    row = db.execute(
        "SELECT max(abs(area_ha - ST_Area(geom::geography) / 10000) / area_ha) FROM gis.current_plots"
    ).fetchone()
    assert row is not None
    assert row[0] < 0.005
    total = sum(areas)
    assert 3000 < total < 4000


def test_plot_attributes_stored(db: psycopg.Connection, corps: Corps) -> None:
    seed_demo_corps(db, corps)
    rows = {(row["farm_code"], row["code"]): row for row in list_plots(db, limit=1000)}
    for plan in corps.plots[:20]:
        row = rows[(plan.farm_code, plan.fields.code)]
        assert row["planting_year"] == plan.fields.planting_year
        assert row["clone"] == plan.fields.clone
        assert row["status"] == plan.fields.status
        assert row["tree_count"] == plan.fields.tree_count
        assert row["team_code"] == plan.fields.team_code
        assert row["attributes"]["density_per_ha"] == plan.fields.attributes["density_per_ha"]


def test_company_code_taken_is_a_conflict(db: psycopg.Connection, corps: Corps) -> None:
    create_company(db, "74", "Another unit")

    with pytest.raises(SeedConflict, match="'74'"):
        seed_demo_corps(db, corps)

    assert _counts(db)["plots"] == 0


def test_seed_command_twice(db: psycopg.Connection, database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "vuonso", "simulate", "seed"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert "created 3 companies, 6 farms, 18 teams, 200 plots, 400 stations" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "created 0 companies, 0 farms, 0 teams, 0 plots, 0 stations" in second.stdout
    assert _counts(db)["plots"] == 200
