"""GIS benchmark: plot import, OGC API items pages and bulk fix assignment, each beside a raw
baseline measured in the same run.

Usage: .venv/bin/python bench/gis.py [--plots 10000] [--fixes 1000000] [--runs 5]
       [--requests 200] [--postgis-fixes 100000] [--seed 1]

Everything runs in a temporary database made from the PostGIS template and dropped at the end.
Every figure is the median over --runs runs. The last output line is one JSON object with all
figures; docs/benchmarks.md explains them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import shapely
from shapely.geometry import Polygon, mapping

from common import (
    free_port,
    machine_facts,
    median,
    percentile_ms,
    print_result,
    say,
    temporary_database,
    timed,
)
from vuonso.gis.assign import PlotIndex, load_plot_index
from vuonso.gis.imports import ImportOptions, import_file
from vuonso.gis.plots import create_company, create_farm, workspace_id
from vuonso.simulators.layout import FarmSite, farm_plots

FARM = "NT-BENCH"
PAGE_LIMIT = 100
# Plots a request bbox is sized for; a bbox is used only when it meets at least PAGE_LIMIT plots.
BBOX_PLOTS = 150
CLONES = ("RRIM 600", "PB 260", "RRIV 124", "GT 1")
SERVER = (
    "import os, uvicorn\n"
    "from vuonso.api.app import create_app\n"
    "from vuonso.core.settings import load_settings\n"
    "settings = load_settings(database_url=os.environ['BENCH_DATABASE_URL'])\n"
    "uvicorn.run(create_app(settings), host='127.0.0.1', port=int(os.environ['BENCH_PORT']),"
    " log_level='warning', access_log=False)\n"
)
PAGE_SQL = (
    "SELECT p.id, p.code, g.area_ha, ST_AsGeoJSON(g.geom, 7) FROM gis.plots p"
    " JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL"
    " WHERE p.workspace_id = %s AND ST_Intersects(g.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
    " ORDER BY p.id LIMIT 100"
)
POSTGIS_ASSIGN_SQL = (
    "SELECT f.id, inside.plot_id FROM bench_fixes f LEFT JOIN LATERAL ("
    " SELECT g.plot_id FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id"
    " WHERE g.valid_to IS NULL AND p.workspace_id = %s AND ST_Intersects(g.geom, f.position)"
    " ORDER BY g.plot_id LIMIT 1) inside ON true ORDER BY f.id"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plots", type=int, default=10_000, help="plots in the imported file")
    parser.add_argument("--fixes", type=int, default=1_000_000, help="GPS fixes to assign")
    parser.add_argument("--runs", type=int, default=5, help="runs of each measurement")
    parser.add_argument("--requests", type=int, default=200,
                        help="OGC items requests per run, each with its own bbox")
    parser.add_argument("--postgis-fixes", type=int, default=100_000,
                        help="fixes assigned by the PostGIS baseline (a sample of --fixes)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the plots and fixes")
    return parser.parse_args()


def make_plots(count: int, seed: int) -> list[Polygon]:
    """Lay out non-overlapping rubber plots of about 25 ha on flat land near Chư Prông, Gia Lai."""
    site = FarmSite(lon=107.75, lat=13.55, terrain="flat", rotation_deg=0.0, plot_count=count)
    return [shape.geometry for shape in farm_plots(site, random.Random(seed))]


def write_geojson(path: Path, polygons: list[Polygon]) -> None:
    features = [{"type": "Feature", "geometry": mapping(polygon), "properties": {
        "code": f"L{number:05d}", "crop": "rubber", "planting_year": 2000 + number % 18,
        "clone": CLONES[number % len(CLONES)]}} for number, polygon in enumerate(polygons, 1)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def clear_plots(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE gis.plot_imports, gis.plot_geometries, gis.plots RESTART IDENTITY CASCADE")


def bench_import(conn: psycopg.Connection, polygons: list[Polygon], path: Path,
                 runs: int) -> dict[str, Any]:
    """Import the file into an empty farm each run, beside validity-only and COPY baselines."""
    imports, validity, copies = [], [], []
    array = np.array(polygons, dtype=object)
    for run in range(runs):
        clear_plots(conn)
        seconds, report = timed(lambda: import_file(conn, path, FARM, ImportOptions()))
        if report.counts()["created"] != len(polygons):
            raise RuntimeError(f"import created {report.counts()} instead of {len(polygons)} plots")
        imports.append(seconds)
        validity.append(timed(lambda: shapely.is_valid_reason(array))[0])
        copies.append(copy_baseline(conn, array))
        say(f"import run {run + 1}: {seconds:.2f} s, validity {validity[-1]:.3f} s, "
            f"COPY {copies[-1]:.3f} s")
    conn.execute("ANALYZE gis.plots; ANALYZE gis.plot_geometries")
    return {"import_s": round(median(imports), 3),
            "import_validity_baseline_s": round(median(validity), 4),
            "import_copy_baseline_s": round(median(copies), 4),
            "import_runs_s": [round(seconds, 2) for seconds in imports]}


def copy_baseline(conn: psycopg.Connection, polygons: np.ndarray) -> float:
    """Time encoding the polygons as EWKB and a COPY of them into a table with a GiST index."""
    conn.execute("DROP TABLE IF EXISTS bench_copy")
    conn.execute("CREATE TABLE bench_copy (id integer, geom geometry(MultiPolygon, 4326))")
    conn.execute("CREATE INDEX ON bench_copy USING gist (geom)")

    def copy() -> None:
        multi = shapely.set_srid(shapely.multipolygons(polygons[:, None]), 4326)
        encoded = shapely.to_wkb(multi, hex=True, include_srid=True)
        with conn.transaction(), conn.cursor() as cur, \
                cur.copy("COPY bench_copy (id, geom) FROM STDIN") as copy:
            for number, text in enumerate(encoded.tolist()):
                copy.write_row((number, text))

    seconds = timed(copy)[0]
    conn.execute("DROP TABLE bench_copy")
    return seconds


def choose_bboxes(conn: psycopg.Connection, workspace: int, polygons: list[Polygon],
                  count: int, rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """Pick square bboxes at random places, each meeting at least PAGE_LIMIT plots."""
    bounds = shapely.bounds(np.array(polygons, dtype=object))
    side = float(np.sqrt(BBOX_PLOTS * np.median((bounds[:, 2] - bounds[:, 0])
                                                 * (bounds[:, 3] - bounds[:, 1]))))
    west, south, east, north = shapely.total_bounds(np.array(polygons, dtype=object))
    chosen: list[tuple[float, float, float, float]] = []
    for _ in range(count * 50):
        if len(chosen) == count:
            break
        x = float(rng.uniform(west, max(west, east - side)))
        y = float(rng.uniform(south, max(south, north - side)))
        bbox = (x, y, x + side, y + side)
        row = conn.execute(
            "SELECT count(*) FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id"
            " WHERE g.valid_to IS NULL AND p.workspace_id = %s"
            " AND ST_Intersects(g.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            (workspace, *bbox)).fetchone()
        if row is not None and row[0] >= PAGE_LIMIT:
            chosen.append(bbox)
    if len(chosen) < count:
        raise RuntimeError(f"found only {len(chosen)} bboxes with {PAGE_LIMIT} plots or more; "
                           "use more --plots")
    return chosen


@contextmanager
def api_server(url: str) -> Iterator[str]:
    """Run the app under uvicorn on a free 127.0.0.1 port; yield its base URL, then stop it."""
    port = free_port()
    env = {**os.environ, "BENCH_DATABASE_URL": url, "BENCH_PORT": str(port)}
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen([sys.executable, "-c", SERVER], env=env, stdout=server_log,
                                   stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/ogc", timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        server_log.seek(0)
                        output = server_log.read().decode(errors="replace")[-2000:]
                        state = "exited" if process.poll() is not None else "timed out after 30 s"
                        raise RuntimeError(f"API server {state} before it responded; its "
                                           f"output:\n{output}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def latencies(requests: list[Callable[[], object]], runs: int, label: str) -> dict[str, Any]:
    """Time each request of each run after 10 warm-up requests; return the medians of the
    per-run p50, p95 and p99 in milliseconds."""
    for request in requests[:10]:
        request()
    figures: dict[str, list[float]] = {"p50": [], "p95": [], "p99": []}
    for run in range(runs):
        seconds = [timed(request)[0] for request in requests]
        for name, percent in (("p50", 50), ("p95", 95), ("p99", 99)):
            figures[name].append(percentile_ms(seconds, percent))
        say(f"{label} run {run + 1}: p50 {figures['p50'][-1]:.1f} ms, "
            f"p95 {figures['p95'][-1]:.1f} ms, p99 {figures['p99'][-1]:.1f} ms")
    return {name: round(median(values), 2) for name, values in figures.items()}


def bench_ogc(url: str, conn: psycopg.Connection, workspace: int,
              bboxes: list[tuple[float, float, float, float]], runs: int) -> dict[str, Any]:
    """Time OGC items pages over HTTP, the same pages in-process, and the raw PostGIS query."""
    from vuonso.gis.ogc.plot_source import PlotSource
    from vuonso.gis.ogc.service import OgcService, RequestInfo

    pairs = [[("bbox", ",".join(repr(v) for v in bbox)), ("limit", str(PAGE_LIMIT))]
             for bbox in bboxes]
    paths = [f"/ogc/collections/plots/items?{'&'.join(f'{k}={v}' for k, v in query)}"
             for query in pairs]
    service = OgcService([PlotSource()], version="bench")
    figures: dict[str, Any] = {}

    with api_server(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        probe = client.get(paths[0], headers={"Accept": "application/geo+json"})
        if probe.status_code != 200:
            say(f"OGC items endpoint answered {probe.status_code}; HTTP pages not measured")
        else:
            if len(probe.json()["features"]) != PAGE_LIMIT:
                raise RuntimeError(f"an OGC page has {len(probe.json()['features'])} features, "
                                   f"expected {PAGE_LIMIT}")

            def http_page(path: str) -> Callable[[], object]:
                return lambda: client.get(path, headers={"Accept": "application/geo+json"}).content
            http = latencies([http_page(path) for path in paths], runs, "OGC over HTTP")
            figures.update({f"ogc_{name}_ms": value for name, value in http.items()})

    def service_page(query: list[tuple[str, str]]) -> Callable[[], object]:
        info = RequestInfo(path="/ogc/collections/plots/items", pairs=query,
                           base="http://127.0.0.1", accept="application/geo+json")
        return lambda: json.dumps(service.items(conn, info, "plots").body)
    in_process = latencies([service_page(query) for query in pairs], runs, "OGC in-process")
    figures.update({f"ogc_service_{name}_ms": value for name, value in in_process.items()})

    def raw_page(bbox: tuple[float, float, float, float]) -> Callable[[], object]:
        return lambda: conn.execute(PAGE_SQL, (workspace, *bbox)).fetchall()
    raw = latencies([raw_page(bbox) for bbox in bboxes], runs, "PostGIS page")
    figures.update({f"postgis_page_{name}_ms": value for name, value in raw.items()})
    return figures


def lowest_ids(point_numbers: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Reduce (point, plot id) pairs to the lowest plot id per point, -1 for points without any."""
    none = np.iinfo(np.int64).max
    lowest = np.full(count, none, dtype=np.int64)
    np.minimum.at(lowest, point_numbers, ids)
    lowest[lowest == none] = -1
    return lowest


def strtree_assign(index: PlotIndex, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Run shapely's STRtree query with the intersects predicate; return its seconds and the
    lowest plot id per fix."""
    tree = shapely.STRtree(index.geometries)
    start = time.perf_counter()
    points, plots = tree.query(shapely.points(x, y), predicate="intersects")
    answers = lowest_ids(points, index.plot_ids[plots], len(x))
    return time.perf_counter() - start, answers


def bench_assign(conn: psycopg.Connection, workspace: int, x: np.ndarray, y: np.ndarray,
                 sample: int, runs: int) -> dict[str, Any]:
    """Time the grid index, shapely STRtree and PostGIS on the same fixes and plots."""
    builds, assigns, trees, postgis = [], [], [], []
    for run in range(runs):
        seconds, index = timed(lambda: load_plot_index(conn, workspace))
        builds.append(seconds)
        start = time.perf_counter()
        found = index.assign(x, y)
        assigns.append(time.perf_counter() - start)

        seconds, expected = strtree_assign(index, x, y)
        trees.append(seconds)
        if not np.array_equal(found, expected):
            raise RuntimeError(f"grid index and STRtree disagree on "
                               f"{np.count_nonzero(found != expected)} fixes")

        seconds, from_postgis = timed(lambda: postgis_assign(conn, workspace, x[:sample],
                                                             y[:sample]))
        postgis.append(seconds)
        if not np.array_equal(found[:sample], from_postgis):
            raise RuntimeError(f"grid index and PostGIS disagree on "
                               f"{np.count_nonzero(found[:sample] != from_postgis)} fixes")
        say(f"assign run {run + 1}: index {len(x) / assigns[-1]:,.0f}/s, STRtree "
            f"{len(x) / trees[-1]:,.0f}/s, PostGIS {sample / postgis[-1]:,.0f}/s; "
            f"index build {builds[-1]:.2f} s")
    return {
        "assign_fixes_per_s": round(len(x) / median(assigns)),
        "assign_build_s": round(median(builds), 3),
        "assign_memory_mb": round(index.memory_bytes / 1e6, 1),
        "assign_mixed_share": round(index.mixed_share(x, y), 3),
        "fixes_inside_share": round(float(np.count_nonzero(found >= 0)) / len(x), 3),
        "strtree_fixes_per_s": round(len(x) / median(trees)),
        "postgis_fixes_per_s": round(sample / median(postgis)),
    }


def postgis_assign(conn: psycopg.Connection, workspace: int, x: np.ndarray,
                   y: np.ndarray) -> np.ndarray:
    """COPY the fixes into a temporary table and join them to plots with ST_Intersects."""
    points = shapely.set_srid(shapely.points(x, y), 4326)
    encoded = shapely.to_wkb(points, hex=True, include_srid=True).tolist()
    with conn.transaction():
        conn.execute("CREATE TEMPORARY TABLE bench_fixes (id integer PRIMARY KEY,"
                     " position geometry(Point, 4326)) ON COMMIT DROP")
        with conn.cursor() as cur, cur.copy("COPY bench_fixes (id, position) FROM STDIN") as copy:
            for number, text in enumerate(encoded):
                copy.write_row((number, text))
        rows = conn.execute(POSTGIS_ASSIGN_SQL, (workspace,)).fetchall()
    return np.array([-1 if plot is None else plot for _number, plot in rows], dtype=np.int64)


def main() -> None:
    args = parse_args()
    say(f"GIS benchmark: {args.plots} plots, {args.fixes} fixes, {args.runs} runs, "
        f"{args.requests} OGC requests per run")
    rng = np.random.default_rng(args.seed)
    polygons = make_plots(args.plots, args.seed)
    load_start = os.getloadavg()[0]
    with temporary_database("vuonso_bench_gis") as url, \
            psycopg.connect(url, autocommit=True) as conn, \
            tempfile.TemporaryDirectory() as folder:
        figures: dict[str, Any] = {"benchmark": "gis", "runs": args.runs, "plots": args.plots,
                                   "fixes": args.fixes, "postgis_fixes": min(args.postgis_fixes,
                                                                             args.fixes),
                                   "ogc_requests": args.requests, "machine": machine_facts(conn)}
        company = create_company(conn, "CT-BENCH", "Công ty đo hiệu năng", province="Gia Lai")
        create_farm(conn, company, FARM, "Nông trường đo hiệu năng")
        workspace = workspace_id(conn)
        path = Path(folder) / "plots.geojson"
        write_geojson(path, polygons)
        figures["import_file_mb"] = round(path.stat().st_size / 1e6, 1)

        figures.update(bench_import(conn, polygons, path, args.runs))
        bboxes = choose_bboxes(conn, workspace, polygons, args.requests, rng)
        figures.update(bench_ogc(url, conn, workspace, bboxes, args.runs))

        west, south, east, north = shapely.total_bounds(np.array(polygons, dtype=object))
        x = rng.uniform(west, east, args.fixes)
        y = rng.uniform(south, north, args.fixes)
        figures.update(bench_assign(conn, workspace, x, y, figures["postgis_fixes"], args.runs))

    figures.update(ratios(figures))
    figures["load_average_1m_start"] = round(load_start, 2)
    figures["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    print_result(figures)


def ratios(figures: dict[str, Any]) -> dict[str, Any]:
    """Compute the ratios against the baselines and whether each target is met."""
    result: dict[str, Any] = {
        "import_ratio_validity": round(figures["import_s"] / figures["import_validity_baseline_s"], 1),
        "import_ratio_copy": round(figures["import_s"] / figures["import_copy_baseline_s"], 1),
        "assign_ratio_strtree": round(figures["assign_fixes_per_s"]
                                      / figures["strtree_fixes_per_s"], 1),
        "assign_ratio_postgis": round(figures["assign_fixes_per_s"]
                                      / figures["postgis_fixes_per_s"], 1),
        "target_import_under_10_s": figures["import_s"] < 10.0,
        "target_assign_at_least_500k_per_s": figures["assign_fixes_per_s"] >= 500_000,
    }
    if "ogc_p95_ms" in figures:
        result["ogc_ratio_p95_postgis"] = round(figures["ogc_p95_ms"]
                                                / figures["postgis_page_p95_ms"], 1)
        result["target_ogc_p95_under_50_ms"] = figures["ogc_p95_ms"] < 50.0
    return result


if __name__ == "__main__":
    main()
