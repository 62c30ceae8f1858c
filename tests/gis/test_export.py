"""Plot export in every format, and the import -> export -> import round trip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from pyogrio import raw
from shapely.geometry import Polygon

from tests.gis.test_import import geojson_file, square
from vuonso.core.errors import NotFoundError
from vuonso.gis.area import area_ha
from vuonso.gis.cli_plots import export_command
from vuonso.gis.errors import GisError
from vuonso.gis.exports import export_file_name, export_plots
from vuonso.gis.imports import ImportOptions, import_file
from vuonso.gis.plots import create_company, create_farm, create_team

FORMATS = ("geojson", "kml", "gpkg", "shp")
PLOTS = [
    ({"code": "Lô 12", "crop": "cao su", "planting_year": 2012, "clone": "RRIV 124",
      "tree_count": 555, "tapping_system": "S/2 d3 6d/7", "status": "kinh doanh", "team": "D7"},
     square(0)),
    ({"code": "Lô Đắk 3", "crop": "coffee", "planting_year": None, "status": "KTCB"}, square(1)),
]


@pytest.fixture()
def registry(db: psycopg.Connection) -> psycopg.Connection:
    """An autocommit connection with empty package tables and a practice workspace."""
    db.execute("INSERT INTO core.workspaces (code, name, kind)"
               " VALUES ('practice-gis', 'Practice', 'practice') ON CONFLICT DO NOTHING")
    return db


@pytest.fixture()
def imported(registry: psycopg.Connection, tmp_path: Path) -> dict[str, dict]:
    """Two plots imported into farm NT1; the practice copy of the company is empty."""
    for workspace in ("production", "practice-gis"):
        company = create_company(registry, "CT72", "Đoàn KT-QP 72", workspace=workspace)
        create_farm(registry, company, "NT1", "Nông trường Ia Pnôn")
        create_team(registry, company, "D7", "Đội 7")
    path = geojson_file(tmp_path / "source.geojson", PLOTS)
    import_file(registry, path, "NT1")
    return plot_rows(registry, "production")


def plot_rows(conn: psycopg.Connection, workspace: str) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT p.code, p.crop, p.planting_year, p.clone, p.tree_count, p.tapping_system,"
        " p.status, t.code, g.area_ha FROM gis.current_plots g JOIN gis.plots p ON p.id = g.id"
        " LEFT JOIN gis.teams t ON t.id = p.team_id JOIN core.workspaces w"
        " ON w.id = p.workspace_id WHERE w.code = %s", (workspace,)).fetchall()
    keys = ("crop", "planting_year", "clone", "tree_count", "tapping_system", "status", "team",
            "area_ha")
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}


@pytest.mark.parametrize("format_key", FORMATS)
def test_round_trip(registry: psycopg.Connection, imported: dict[str, dict], tmp_path: Path,
                    format_key: str) -> None:
    name = export_file_name(format_key, farm_code="NT1")
    exported = export_plots(registry, format_key, tmp_path / name, farm_code="NT1")
    assert exported.plot_count == 2
    report = import_file(registry, exported.path, "NT1",
                         ImportOptions(workspace="practice-gis"))
    assert report.counts()["created"] == 2
    copies = plot_rows(registry, "practice-gis")
    assert set(copies) == {"Lô 12", "Lô Đắk 3"}
    for code, original in imported.items():
        copy = copies[code]
        assert copy.pop("area_ha") == pytest.approx(original.pop("area_ha"), rel=1e-5)
        assert copy == original, code


def test_original_values_kept(imported: dict[str, dict]) -> None:
    assert imported["Lô 12"]["status"] == "tapping"
    assert imported["Lô 12"]["crop"] == "rubber"
    assert imported["Lô Đắk 3"]["status"] == "immature"
    assert imported["Lô 12"]["area_ha"] == pytest.approx(area_ha(square(0)))


def test_shapefile_parts(registry: psycopg.Connection, imported: dict[str, dict],
                         tmp_path: Path) -> None:
    exported = export_plots(registry, "shp", tmp_path / "plots.zip", farm_code="NT1")
    with zipfile.ZipFile(exported.path) as archive:
        names = sorted(archive.namelist())
        cpg = archive.read("plots.cpg").decode()
        prj = archive.read("plots.prj").decode()
    assert names == ["plots.cpg", "plots.dbf", "plots.prj", "plots.shp", "plots.shx"]
    assert cpg.strip() == "UTF-8"
    assert "WGS" in prj
    meta = raw.read(f"/vsizip/{exported.path}/plots.shp")[0]
    fields = [str(name) for name in meta["fields"]]
    assert "area_ha" in fields
    assert all(len(name) <= 10 for name in fields), fields


def test_geojson_states_area_unit(registry: psycopg.Connection, imported: dict[str, dict],
                                  tmp_path: Path) -> None:
    exported = export_plots(registry, "geojson", tmp_path / "p.geojson", farm_code="NT1")
    document = json.loads(exported.path.read_text(encoding="utf-8"))
    assert "hectares" in document["description"]
    properties = document["features"][0]["properties"]
    assert properties["area_ha"] == pytest.approx(round(imported["Lô 12"]["area_ha"], 4))
    assert properties["code"] == "Lô 12"


def test_company_export(registry: psycopg.Connection, imported: dict[str, dict],
                        tmp_path: Path) -> None:
    exported = export_plots(registry, "gpkg", tmp_path / "c.gpkg", company_code="CT72")
    assert exported.plot_count == 2
    assert exported.file_name.startswith("plots-company-ct72-")
    assert exported.file_name.endswith(".gpkg")


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"farm_code": "NT1", "company_code": "CT72"}, GisError),
    ({}, GisError),
    ({"farm_code": "EMPTY"}, NotFoundError),
])
def test_export_scope_errors(registry: psycopg.Connection, tmp_path: Path, kwargs: dict,
                             error: type[Exception]) -> None:
    with pytest.raises(error):
        export_plots(registry, "geojson", tmp_path / "x.geojson", **kwargs)


def test_cli_export(registry: psycopg.Connection, imported: dict[str, dict], tmp_path: Path,
                    database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    output = tmp_path / "farm.kml"
    result = CliRunner().invoke(export_command, ["--farm", "NT1", "--format", "kml",
                                                 "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "wrote 2 plots" in result.output
    assert "<name>Lô 12</name>" in output.read_text(encoding="utf-8")


@pytest.mark.parametrize("format_key", FORMATS)
def test_reimport_of_export_unchanged(registry: psycopg.Connection, tmp_path: Path,
                                      format_key: str) -> None:
    company = create_company(registry, "CT74", "Đoàn KT-QP 74", kind="doan_ktqp")
    create_farm(registry, company, "NT9", "Nông trường 9")
    # Coordinates with more decimals than an export keeps, as surveyed boundaries have.
    ragged = Polygon([(107.612345678, 13.812345678), (107.614987654, 13.812111111),
                      (107.615123456, 13.814876543), (107.612222222, 13.815012345)])
    path = geojson_file(tmp_path / "ragged.geojson",
                        [({"code": "Lô 5", "crop": "rubber"}, ragged)])
    import_file(registry, path, "NT9")
    exported = export_plots(registry, format_key, tmp_path / export_file_name(format_key,
                                                                                farm_code="NT9"),
                            farm_code="NT9")

    report = import_file(registry, exported.path, "NT9")

    assert report.counts()["unchanged"] == 1
    assert report.counts()["updated"] == 0


def test_export_unknown_farm_names_command(registry: psycopg.Connection, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="vuonso gis farms"):
        export_plots(registry, "geojson", tmp_path / "x.geojson", farm_code="NO-SUCH")
