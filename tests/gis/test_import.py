"""Plot file import into the registry: formats, CRS, all-or-nothing writes, repair, updates."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import shapely
from click.testing import CliRunner
from pyogrio import raw
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box

from tests.conftest import shared_data
from tests.gis.test_area import reference_hectares
from vuonso.core.errors import NotFoundError
from vuonso.gis.area import area_ha
from vuonso.gis.cli_plots import import_command
from vuonso.gis.errors import CrsError, GeometryInvalid, ImportFailed
from vuonso.gis.imports import ImportOptions, import_file
from vuonso.gis.plots import create_company, create_farm, create_team

GIA_LAI = Transformer.from_crs("EPSG:4326", "EPSG:9218", always_xy=True)


@pytest.fixture()
def registry(db: psycopg.Connection) -> psycopg.Connection:
    """An autocommit connection with empty gis and ingest tables."""
    return db


@pytest.fixture()
def farm(registry: psycopg.Connection) -> str:
    company = create_company(registry, "CT72", "Đoàn KT-QP 72", kind="doan_ktqp")
    create_farm(registry, company, "NT1", "Nông trường Ia Pnôn")
    create_farm(registry, company, "NT2", "Nông trường Ia Nan")
    create_team(registry, company, "D7", "Đội 7")
    return "NT1"


def square(column: int, row: int = 0, size: float = 0.003) -> Polygon:
    """A ~10 ha square near Đức Cơ; squares of different column/row never touch."""
    west, south = 107.6 + column * 0.005, 13.8 + row * 0.005
    return box(west, south, west + size, south + size)


def geojson_file(path: Path, features: list[tuple[dict[str, Any], Any]]) -> Path:
    items = [{"type": "Feature", "properties": props,
              "geometry": None if geom is None else (
                  geom if isinstance(geom, dict) else shapely.geometry.mapping(geom))}
             for props, geom in features]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items},
                               ensure_ascii=False), encoding="utf-8")
    return path


def counts(conn: psycopg.Connection) -> tuple[int, int, int]:
    row = conn.execute("SELECT (SELECT count(*) FROM gis.plots),"
                       " (SELECT count(*) FROM gis.plot_geometries),"
                       " (SELECT count(*) FROM gis.plot_imports)").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def stored_area(conn: psycopg.Connection, code: str) -> float:
    row = conn.execute("SELECT area_ha FROM gis.current_plots WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return float(row[0])


def test_whisp_plots_import_with_geodesic_areas(registry: psycopg.Connection, farm: str) -> None:
    path = shared_data("plots-whisp", "nicaragua_coffee_efico_subset_no_names.geojson")
    report = import_file(registry, path, farm, ImportOptions(default_crop="coffee"))
    assert report.mapping["code"] == "Plot ID"
    assert report.counts()["created"] == len(report.features) == 30
    for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
        code = feature["properties"]["Plot ID"]
        expected = reference_hectares(feature["geometry"])
        assert stored_area(registry, code) == pytest.approx(expected, rel=1e-3), code


def test_whisp_ten_hectares_named_by_name(registry: psycopg.Connection, farm: str) -> None:
    path = shared_data("plots-whisp", "test_10ha.geojson")
    report = import_file(registry, path, farm, ImportOptions(default_crop="coffee"))
    assert report.features[0].code == "test_10ha"
    assert stored_area(registry, "test_10ha") == pytest.approx(10.0, rel=0.01)


def test_dry_run_writes_nothing(registry: psycopg.Connection, farm: str, tmp_path: Path) -> None:
    path = geojson_file(tmp_path / "p.geojson", [({"ma_lo": "L1", "cay": "cao su"}, square(0))])
    report = import_file(registry, path, farm, ImportOptions(dry_run=True))
    assert [f.action for f in report.features] == ["create"]
    assert report.committed is False
    assert counts(registry) == (0, 0, 0)


def test_failed_import_writes_nothing(registry: psycopg.Connection, farm: str,
                                      tmp_path: Path) -> None:
    bowtie = Polygon([(107.6, 13.8), (107.603, 13.803), (107.603, 13.8), (107.6, 13.803)])
    path = geojson_file(tmp_path / "p.geojson", [({"code": "L1"}, square(0)),
                                                 ({"code": "L2"}, bowtie)])
    with pytest.raises(GeometryInvalid) as caught:
        import_file(registry, path, farm, ImportOptions(default_crop="rubber"))
    assert [(p["feature"], p["code"], p["problem"]) for p in caught.value.problems] == [
        (1, "L2", "self_intersection")]
    assert caught.value.problems[0]["location"] == [pytest.approx(107.6015),
                                                    pytest.approx(13.8015)]
    assert counts(registry) == (0, 0, 0)


def test_every_problem_reported_at_once(registry: psycopg.Connection, farm: str,
                                        tmp_path: Path) -> None:
    path = geojson_file(tmp_path / "p.geojson", [
        ({"code": "L1", "crop": "rubber"}, square(0)),
        ({"code": "L1", "crop": "rubber"}, square(1)),
        ({"crop": "rubber"}, square(2)),
        ({"code": "L4", "crop": "rubber", "nam_trong": "abc"}, square(3)),
        ({"code": "L5", "crop": "rubber", "doi": "D99"}, square(4)),
        ({"code": "L6"}, square(5)),
        ({"code": "L7", "crop": "rubber"}, {"type": "Point", "coordinates": [107.6, 13.8]}),
        ({"code": "L8", "crop": "rubber"}, square(0, size=0.002)),
    ])
    with pytest.raises(GeometryInvalid) as caught:
        import_file(registry, path, farm)
    found = {(p["feature"], p["problem"]) for p in caught.value.problems}
    assert found == {(1, "duplicate_code"), (2, "missing_code"), (3, "invalid_value"),
                     (4, "team_not_found"), (5, "missing_crop"), (6, "not_polygon"),
                     (7, "overlap")}
    overlap = next(p for p in caught.value.problems if p["problem"] == "overlap")
    assert "#0 (L1)" in overlap["message"]
    assert counts(registry) == (0, 0, 0)


def test_repair_reports_area_change(registry: psycopg.Connection, farm: str,
                                    tmp_path: Path) -> None:
    bowtie = Polygon([(107.6, 13.8), (107.603, 13.803), (107.603, 13.8), (107.6, 13.803)])
    path = geojson_file(tmp_path / "p.geojson", [({"code": "L2", "crop": "rubber"}, bowtie)])
    report = import_file(registry, path, farm, ImportOptions(repair=True)).as_dict()
    repair = report["repairs"][0]
    assert repair["fixed"] == ["self_intersection"]
    half_square = area_ha(square(0)) / 2
    assert repair["area_after_ha"] == pytest.approx(half_square, rel=1e-3)
    assert repair["area_change_ha"] == pytest.approx(
        repair["area_after_ha"] - repair["area_before_ha"], abs=1e-4)
    assert stored_area(registry, "L2") == pytest.approx(half_square, rel=1e-3)


def test_reimport_adds_geometry_version(registry: psycopg.Connection, farm: str,
                                        tmp_path: Path) -> None:
    first = geojson_file(tmp_path / "a.geojson", [({"code": "L1", "crop": "rubber"}, square(0))])
    import_file(registry, first, farm)
    bigger = geojson_file(tmp_path / "b.geojson", [({"code": "L1"}, square(0, size=0.004))])
    report = import_file(registry, bigger, farm)
    assert report.features[0].action == "update"
    assert report.features[0].previous_area_ha == pytest.approx(area_ha(square(0)))
    rows = registry.execute("SELECT area_ha, valid_to IS NULL FROM gis.plot_geometries"
                            " ORDER BY id").fetchall()
    assert [current for _area, current in rows] == [False, True]
    assert rows[1][0] == pytest.approx(area_ha(square(0, size=0.004)))
    again = import_file(registry, bigger, farm)
    assert again.features[0].action == "unchanged"
    assert counts(registry) == (1, 2, 3)


def test_overlap_with_existing_plot_rejected(registry: psycopg.Connection, farm: str,
                                             tmp_path: Path) -> None:
    existing = geojson_file(tmp_path / "a.geojson", [({"code": "B9", "crop": "rubber"},
                                                      square(0))])
    import_file(registry, existing, "NT2")
    path = geojson_file(tmp_path / "b.geojson", [({"code": "L1", "crop": "rubber"},
                                                  square(0, size=0.002))])
    with pytest.raises(GeometryInvalid) as caught:
        import_file(registry, path, farm)
    problem = caught.value.problems[0]
    assert problem["problem"] == "overlap_existing"
    assert "NT2/B9" in problem["message"]


def test_swapped_coordinates_rejected_naming_feature(registry: psycopg.Connection, farm: str,
                                                     tmp_path: Path) -> None:
    swapped = shapely.transform(square(1), lambda xy: xy[:, ::-1].copy())
    path = geojson_file(tmp_path / "p.geojson", [({"code": "L1", "crop": "rubber"}, square(0)),
                                                 ({"code": "L2", "crop": "rubber"}, swapped)])
    with pytest.raises(GeometryInvalid) as caught:
        import_file(registry, path, farm, ImportOptions(language="en"))
    problem = caught.value.problems[0]
    assert (problem["feature"], problem["code"], problem["problem"]) == (
        1, "L2", "coordinates_swapped")
    assert "Feature #1 (L2)" in problem["message"]


def kml_text(with_z: bool) -> str:
    ring = square(0).exterior.coords
    coords = " ".join(f"{x},{y},512" if with_z else f"{x},{y}" for x, y in ring)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>Lô 12</name>
<ExtendedData><Data name="giong"><value>RRIV 124</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>
</outerBoundaryIs></Polygon></Placemark></Document></kml>"""


@pytest.mark.parametrize("with_z", [False, True])
def test_kml_with_and_without_z(registry: psycopg.Connection, farm: str, tmp_path: Path,
                                with_z: bool) -> None:
    path = tmp_path / "plots.kml"
    path.write_text(kml_text(with_z), encoding="utf-8")
    report = import_file(registry, path, farm, ImportOptions(default_crop="rubber"))
    assert report.features[0].code == "Lô 12"
    assert report.source_crs.origin == "file"
    assert stored_area(registry, "Lô 12") == pytest.approx(area_ha(square(0)))
    row = registry.execute("SELECT clone FROM gis.plots WHERE code = 'Lô 12'").fetchone()
    assert row is not None and row[0] == "RRIV 124"


def test_kmz(registry: psycopg.Connection, farm: str, tmp_path: Path) -> None:
    path = tmp_path / "plots.kmz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("doc.kml", kml_text(with_z=True))
    report = import_file(registry, path, farm, ImportOptions(default_crop="rubber"))
    assert report.counts()["created"] == 1
    assert report.format == "kmz"


def zipped_shapefile(folder: Path, crs: str | None, with_prj: bool) -> Path:
    """A one-plot shapefile in the Gia Lai VN-2000 grid, zipped with or without its .prj."""
    plot = shapely.transform(square(0), lambda xy: np.column_stack(
        GIA_LAI.transform(xy[:, 0], xy[:, 1])))
    shp = folder / "lo.shp"
    raw.write(str(shp), np.array([shapely.to_wkb(plot)], dtype=object),
              [np.array(["Lô 3"], dtype=object), np.array(["cà phê"], dtype=object)],
              ["MA_LO", "CAY_TRONG"], driver="ESRI Shapefile", geometry_type="Polygon",
              crs=crs, layer_options={"ENCODING": "UTF-8"})
    path = folder / "lo.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for suffix in (".shp", ".shx", ".dbf", ".cpg") + ((".prj",) if with_prj else ()):
            archive.write(shp.with_suffix(suffix), arcname=f"lo{suffix}")
    return path


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_prj_needs_crs(registry: psycopg.Connection, farm: str,
                                         tmp_path: Path) -> None:
    path = zipped_shapefile(tmp_path, None, with_prj=False)
    with pytest.raises(CrsError) as caught:
        import_file(registry, path, farm)
    assert caught.value.problems[0]["problem"] == "crs_missing"
    report = import_file(registry, path, farm, ImportOptions(crs="VN2000-TM3-GIALAI"))
    assert report.features[0].code == "Lô 3"
    # The grid round trip goes through two different shift implementations: 1e-4 relative.
    assert stored_area(registry, "Lô 3") == pytest.approx(area_ha(square(0)), rel=1e-4)
    row = registry.execute("SELECT crop FROM gis.plots WHERE code = 'Lô 3'").fetchone()
    assert row is not None and row[0] == "coffee"


def test_shapefile_crs_mismatch_shows_both(registry: psycopg.Connection, farm: str,
                                           tmp_path: Path) -> None:
    path = zipped_shapefile(tmp_path, "EPSG:9218", with_prj=True)
    with pytest.raises(CrsError) as caught:
        import_file(registry, path, farm, ImportOptions(crs="EPSG:3405"))
    assert "EPSG:9218" in caught.value.message
    assert "EPSG:3405" in caught.value.message
    assert counts(registry) == (0, 0, 0)


def gpx_text(points: list[tuple[float, float]]) -> str:
    body = "".join(f'<trkpt lat="{lat}" lon="{lon}"><ele>700</ele></trkpt>' for lon, lat in points)
    return ('<?xml version="1.0"?><gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>L20</name>'
            f"<trkseg>{body}</trkseg></trk></gpx>")


def test_gpx_closed_track_becomes_plot(registry: psycopg.Connection, farm: str,
                                       tmp_path: Path) -> None:
    corners = list(square(0).exterior.coords)[:-1]
    end_near_start = (corners[0][0] - 0.00003, corners[0][1] + 0.00003)  # ~5 m from the start
    path = tmp_path / "walk.gpx"
    path.write_text(gpx_text([*corners, end_near_start]), encoding="utf-8")
    report = import_file(registry, path, farm, ImportOptions(default_crop="rubber"))
    assert report.features[0].code == "L20"
    assert stored_area(registry, "L20") == pytest.approx(area_ha(square(0)), rel=0.01)


def test_gpx_open_track_rejected(registry: psycopg.Connection, farm: str, tmp_path: Path) -> None:
    corners = list(square(0).exterior.coords)[:-1]
    path = tmp_path / "walk.gpx"
    path.write_text(gpx_text(corners[:3]), encoding="utf-8")
    with pytest.raises(GeometryInvalid) as caught:
        import_file(registry, path, farm, ImportOptions(default_crop="rubber"))
    assert caught.value.problems[0]["problem"] == "track_not_closed"


def test_mapping_override_and_errors(registry: psycopg.Connection, farm: str,
                                     tmp_path: Path) -> None:
    path = geojson_file(tmp_path / "p.geojson", [
        ({"Mã lô": "A", "TEN": "Lô A", "Năm trồng": 2012, "Số cây": "555"}, square(0))])
    report = import_file(registry, path, farm, ImportOptions(
        mapping={"code": "ten"}, default_crop="rubber", dry_run=True))
    assert report.mapping["code"] == "TEN"
    assert report.mapping["planting_year"] == "Năm trồng"
    assert report.features[0].values["tree_count"] == 555
    with pytest.raises(ImportFailed) as caught:
        import_file(registry, path, farm, ImportOptions(mapping={"code": "MISSING"}))
    assert "Mã lô" in caught.value.message


def test_unknown_farm(registry: psycopg.Connection, tmp_path: Path) -> None:
    path = geojson_file(tmp_path / "p.geojson", [({"code": "L1"}, square(0))])
    with pytest.raises(NotFoundError):
        import_file(registry, path, "NOPE")


def test_cli_import(registry: psycopg.Connection, farm: str, tmp_path: Path,
                    database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = geojson_file(tmp_path / "p.geojson", [({"ma_lo": "L1"}, square(0)),
                                                 ({"ma_lo": "L2"}, square(1))])
    runner = CliRunner()
    dry = runner.invoke(import_command, [str(path), "--farm", farm, "--crop", "rubber",
                                         "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "created 2" in dry.output
    assert counts(registry) == (0, 0, 0)
    done = runner.invoke(import_command, [str(path), "--farm", farm, "--crop", "rubber",
                                          "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["counts"]["created"] == 2
    assert counts(registry) == (2, 2, 1)


def test_multipolygon_parts_kept(registry: psycopg.Connection, farm: str, tmp_path: Path) -> None:
    parts = MultiPolygon([square(0), square(1)])
    path = geojson_file(tmp_path / "p.geojson", [({"code": "M1", "crop": "coffee"}, parts)])
    import_file(registry, path, farm)
    assert stored_area(registry, "M1") == pytest.approx(area_ha(parts))


def test_farms_command_lists_farms(farm: str, database_url: str) -> None:
    from click.testing import CliRunner

    from vuonso.gis.cli_plots import farms_command

    result = CliRunner().invoke(farms_command, env={"DATABASE_URL": database_url})

    assert result.exit_code == 0, result.output
    assert "CT72\tNT1\tNông trường Ia Pnôn\t0 plots" in result.output
