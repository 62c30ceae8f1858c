"""Companies, farms, teams and plots: creation, geometry versions and look-ups.

Geometry is stored as MultiPolygon in EPSG:4326 with its geodesic area in hectares; a new
boundary closes the current version (valid_to) and never overwrites it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from shapely import wkb
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from vuonso.core.errors import NotFoundError
from vuonso.core.workspaces import workspace_id
from vuonso.gis.area import area_ha
from vuonso.gis.errors import GeometryInvalid

PLOT_COLUMNS = (
    "p.id, p.workspace_id, p.farm_id, p.team_id, p.code, p.crop, p.planting_year, p.clone,"
    " p.tree_count, p.tapping_system, p.status, p.attributes, g.area_ha,"
    " g.valid_from AS geometry_valid_from, f.code AS farm_code, c.code AS company_code,"
    " c.id AS company_id, t.code AS team_code"
)
PLOT_FROM = (
    "gis.plots p"
    " JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL"
    " JOIN gis.farms f ON f.id = p.farm_id"
    " JOIN gis.companies c ON c.id = f.company_id"
    " LEFT JOIN gis.teams t ON t.id = p.team_id"
)


@dataclass(frozen=True)
class PlotFields:
    code: str
    crop: str
    planting_year: int | None = None
    clone: str | None = None
    tree_count: int | None = None
    tapping_system: str | None = None
    status: str = "tapping"
    team_code: str | None = None
    attributes: dict[str, Any] | None = None


def create_company(conn: psycopg.Connection, code: str, name: str, *, kind: str = "cong_ty",
                   province: str | None = None, workspace: str = "production") -> int:
    row = conn.execute(
        "INSERT INTO gis.companies (workspace_id, code, name, kind, province)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (workspace_id(conn, workspace), code, name, kind, province),
    ).fetchone()
    assert row is not None
    return int(row[0])


def create_farm(conn: psycopg.Connection, company_id: int, code: str, name: str) -> int:
    row = conn.execute(
        "INSERT INTO gis.farms (company_id, code, name) VALUES (%s, %s, %s) RETURNING id",
        (company_id, code, name),
    ).fetchone()
    assert row is not None
    return int(row[0])


def create_team(conn: psycopg.Connection, company_id: int, code: str, name: str,
                farm_id: int | None = None) -> int:
    row = conn.execute(
        "INSERT INTO gis.teams (company_id, farm_id, code, name) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (company_id, farm_id, code, name),
    ).fetchone()
    assert row is not None
    return int(row[0])


def farm_id_by_code(conn: psycopg.Connection, code: str, workspace: str = "production") -> int:
    rows = conn.execute(
        "SELECT f.id FROM gis.farms f JOIN gis.companies c ON c.id = f.company_id"
        " JOIN core.workspaces w ON w.id = c.workspace_id WHERE f.code = %s AND w.code = %s",
        (code, workspace),
    ).fetchall()
    if not rows:
        raise NotFoundError(f"farm {code!r} not found; list farms with `vuonso gis farms`",
                            farm=code)
    if len(rows) > 1:
        raise GeometryInvalid(f"farm code {code!r} is used by {len(rows)} companies; "
                              "give COMPANY/FARM instead", farm=code)
    return int(rows[0][0])


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """Return a 2-D MultiPolygon for a Polygon or MultiPolygon, dropping any Z."""
    from shapely import force_2d

    flat = force_2d(geometry)
    if isinstance(flat, Polygon):
        return MultiPolygon([flat])
    if isinstance(flat, MultiPolygon):
        return flat
    raise GeometryInvalid(f"a plot needs a Polygon or MultiPolygon, got {geometry.geom_type}",
                          geometry_type=geometry.geom_type)


def create_plot(conn: psycopg.Connection, farm_id: int, fields: PlotFields,
                geometry: BaseGeometry, *, source: str | None = None) -> int:
    """Insert a plot and its first geometry version; return the plot id."""
    return create_plots(conn, farm_id, [(fields, geometry)], source=source)[0]


def create_plots(conn: psycopg.Connection, farm_id: int,
                 plans: Sequence[tuple[PlotFields, BaseGeometry]], *,
                 source: str | None = None) -> list[int]:
    """Insert plots of one farm with their first geometry versions, in a few statements whatever
    their number; return the plot ids in the order given."""
    farm = conn.execute(
        "SELECT c.workspace_id, c.id FROM gis.farms f JOIN gis.companies c ON c.id = f.company_id"
        " WHERE f.id = %s", (farm_id,),
    ).fetchone()
    if farm is None:
        raise NotFoundError(f"farm id {farm_id} not found", farm_id=farm_id)
    teams: dict[str, int] = dict(conn.execute("SELECT code, id FROM gis.teams WHERE company_id = %s",
                              (farm[1],)).fetchall())
    missing = sorted({f.team_code for f, _ in plans if f.team_code and f.team_code not in teams})
    if missing:
        raise NotFoundError(f"team {missing[0]!r} not found in the farm's company",
                            team=missing[0])
    shapes = [as_multipolygon(geometry) for _, geometry in plans]

    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO gis.plots (workspace_id, farm_id, team_id, code, crop, planting_year,"
            " clone, tree_count, tapping_system, status, attributes)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [(farm[0], farm_id, teams.get(f.team_code) if f.team_code else None, f.code, f.crop,
              f.planting_year, f.clone, f.tree_count, f.tapping_system, f.status,
              Jsonb(f.attributes or {})) for f, _ in plans],
            returning=True,
        )
        ids = []
        while True:
            row = cur.fetchone()
            assert row is not None
            ids.append(int(row[0]))
            if not cur.nextset():
                break
        cur.executemany(
            "INSERT INTO gis.plot_geometries (plot_id, geom, area_ha, source)"
            " VALUES (%s, ST_SetSRID(ST_GeomFromWKB(%s), 4326), %s, %s)",
            [(plot_id, wkb.dumps(shape), area_ha(shape), source)
             for plot_id, shape in zip(ids, shapes, strict=True)],
        )
    return ids


def set_geometry(conn: psycopg.Connection, plot_id: int, geometry: BaseGeometry, *,
                 source: str | None = None, valid_from: datetime | None = None) -> float:
    """Close the current boundary of a plot and add a new one; return its geodesic area in ha."""
    multi = as_multipolygon(geometry)
    hectares = area_ha(multi)
    conn.execute(
        "UPDATE gis.plot_geometries SET valid_to = coalesce(%s, now())"
        " WHERE plot_id = %s AND valid_to IS NULL",
        (valid_from, plot_id),
    )
    conn.execute(
        "INSERT INTO gis.plot_geometries (plot_id, geom, area_ha, valid_from, source)"
        " VALUES (%s, ST_SetSRID(ST_GeomFromWKB(%s), 4326), %s, coalesce(%s, now()), %s)",
        (plot_id, wkb.dumps(multi), hectares, valid_from, source),
    )
    return hectares


def get_plot(conn: psycopg.Connection, plot_id: int, *, with_geometry: bool = False) -> dict[str, Any]:
    """Return one plot with its current area (ha) and optionally its geometry as a shapely object."""
    geometry_column = ", ST_AsBinary(g.geom) AS geom_wkb" if with_geometry else ""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {PLOT_COLUMNS}{geometry_column} FROM {PLOT_FROM} WHERE p.id = %s", (plot_id,)
        ).fetchone()
    if row is None:
        raise NotFoundError(f"plot {plot_id} not found", key="gis.plot_not_found", plot_id=plot_id)
    if with_geometry:
        row["geometry"] = wkb.loads(bytes(row.pop("geom_wkb")))
    return row


def list_plots(conn: psycopg.Connection, *, workspace: str = "production",
               farm_code: str | None = None, company_code: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    """List current plots of a workspace, optionally of one farm or company, ordered by id."""
    where = ["p.workspace_id = (SELECT id FROM core.workspaces WHERE code = %s)"]
    params: list[Any] = [workspace]
    if farm_code:
        where.append("f.code = %s")
        params.append(farm_code)
    if company_code:
        where.append("c.code = %s")
        params.append(company_code)
    params += [limit, offset]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {PLOT_COLUMNS} FROM {PLOT_FROM} WHERE {' AND '.join(where)}"
            " ORDER BY p.id LIMIT %s OFFSET %s",
            params,
        ).fetchall()


def plot_at(conn: psycopg.Connection, lon: float, lat: float, *, within_m: float = 0.0,
            workspace_id: int | None = None) -> tuple[int, float] | None:
    """Return (plot id, distance in m) of the plot containing the point, or else the nearest plot
    within `within_m` metres, or None. Distances are geodesic (geography)."""
    point = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
    scope = "" if workspace_id is None else " AND p.workspace_id = %(ws)s"
    params = {"lon": lon, "lat": lat, "ws": workspace_id, "within": within_m}
    row = conn.execute(
        "SELECT g.plot_id FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id"
        f" WHERE g.valid_to IS NULL AND ST_Intersects(g.geom, {point}){scope}"
        " ORDER BY g.plot_id LIMIT 1",
        params,
    ).fetchone()
    if row is not None:
        return int(row[0]), 0.0
    if within_m <= 0:
        return None
    row = conn.execute(
        f"SELECT g.plot_id, ST_Distance(g.geom::geography, {point}::geography) AS d"
        " FROM gis.plot_geometries g JOIN gis.plots p ON p.id = g.plot_id"
        f" WHERE g.valid_to IS NULL{scope}"
        f" AND ST_DWithin(g.geom::geography, {point}::geography, %(within)s)"
        " ORDER BY d LIMIT 1",
        params,
    ).fetchone()
    return (int(row[0]), float(row[1])) if row else None


def farm_workspace_id(conn: psycopg.Connection, farm_id: int) -> int:
    """Workspace id of a farm (through its company)."""
    row = conn.execute(
        "SELECT c.workspace_id FROM gis.farms f JOIN gis.companies c ON c.id = f.company_id"
        " WHERE f.id = %s", (farm_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"farm id {farm_id} not found", farm_id=farm_id)
    return int(row[0])


def current_farm_plots(conn: psycopg.Connection, farm_id: int) -> dict[str, dict[str, Any]]:
    """Current plots of a farm by code: {code: {"id", "area_ha", "geometry"}}."""
    rows = conn.execute(
        "SELECT p.id, p.code, g.area_ha, ST_AsBinary(g.geom) FROM gis.plots p"
        " JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL"
        " WHERE p.farm_id = %s ORDER BY p.id", (farm_id,),
    ).fetchall()
    return {code: {"id": int(plot_id), "area_ha": float(hectares),
                   "geometry": wkb.loads(bytes(geom))}
            for plot_id, code, hectares, geom in rows}


def plots_in_envelope(conn: psycopg.Connection, workspace_id: int,
                      bounds: tuple[float, float, float, float]) -> list[dict[str, Any]]:
    """Current plots of a workspace whose boundary box meets the lon/lat box (w, s, e, n)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT p.id, p.code, p.farm_id, f.code AS farm_code, ST_AsBinary(g.geom) AS geom_wkb"
            " FROM gis.plots p JOIN gis.plot_geometries g ON g.plot_id = p.id"
            " AND g.valid_to IS NULL JOIN gis.farms f ON f.id = p.farm_id"
            " WHERE p.workspace_id = %s AND g.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
            " ORDER BY p.id",
            (workspace_id, *bounds),
        ).fetchall()
    for row in rows:
        row["geometry"] = wkb.loads(bytes(row.pop("geom_wkb")))
    return rows


def team_codes(conn: psycopg.Connection, farm_id: int) -> set[str]:
    """Codes of the teams of the farm's company."""
    rows = conn.execute(
        "SELECT t.code FROM gis.teams t JOIN gis.farms f ON f.company_id = t.company_id"
        " WHERE f.id = %s", (farm_id,),
    ).fetchall()
    return {str(row[0]) for row in rows}


def current_geometries(conn: psycopg.Connection, plot_ids: list[int]) -> dict[int, MultiPolygon]:
    """Current boundary of each listed plot, by plot id."""
    rows = conn.execute(
        "SELECT plot_id, ST_AsBinary(geom) FROM gis.plot_geometries"
        " WHERE plot_id = ANY(%s) AND valid_to IS NULL", (plot_ids,),
    ).fetchall()
    return {int(plot_id): wkb.loads(bytes(geom)) for plot_id, geom in rows}


def list_farms(conn: psycopg.Connection, workspace: str = "production") -> list[dict[str, Any]]:
    """List the farms of a workspace with their company and number of current plots."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT c.code AS company_code, c.name AS company_name, f.id, f.code, f.name,"
            " count(g.id) AS plots"
            " FROM gis.farms f JOIN gis.companies c ON c.id = f.company_id"
            " JOIN core.workspaces w ON w.id = c.workspace_id"
            " LEFT JOIN gis.plots p ON p.farm_id = f.id"
            " LEFT JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL"
            " WHERE w.code = %s GROUP BY c.id, f.id ORDER BY c.code, f.code",
            (workspace,),
        ).fetchall()
