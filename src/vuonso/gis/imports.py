"""Import a plot file into a farm: read, choose the CRS, validate everything, then write at once.

Policy:
- Every feature is checked and every problem is reported together; if any remains, nothing is
  written (GeometryInvalid carries the list). A dry run returns the same report without writing.
- --repair runs make_valid on features whose only problems are geometric (self-intersection,
  unclosed ring, hole outside its shell, other GEOS invalidity), keeps the polygonal parts and
  reports each feature's area before and after.
- A code new to the farm creates a plot. A code the farm already has replaces that plot's boundary
  through set_geometry, which closes the old version instead of overwriting it. The plot's other
  fields are left as they are. An identical boundary is reported as unchanged and adds no version.
- All writes of one import run in one transaction and are logged in gis.plot_imports.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import shapely
from shapely.geometry import MultiPolygon

from vuonso.gis import plots
from vuonso.gis.area import area_ha
from vuonso.gis.crs import SourceCrs, choose_source_crs, wgs84_transformer
from vuonso.gis.errors import GeometryInvalid
from vuonso.gis.io.fields import PLOT_FIELDS, parse_values, resolve_mapping
from vuonso.gis.io.readers import SourceFeature, read_plot_file
from vuonso.gis.validation import (
    Problem,
    Repair,
    check_feature,
    overlaps_between,
    repair_geometry,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOptions:
    """Options of one import; `mapping` contains FIELD -> attribute overrides."""

    crs: str | None = None
    dry_run: bool = False
    repair: bool = False
    mapping: Mapping[str, str | None] = field(default_factory=dict)
    default_crop: str | None = None
    layer: str | None = None
    language: str = "vi"
    workspace: str = "production"


@dataclass
class FeatureResult:
    """Action taken (or, in a dry run, planned) for one feature; areas in hectares."""

    feature: int
    feature_id: str | None
    code: str | None
    action: str  # "create", "update", "unchanged" or "reject"
    area_ha: float | None = None
    previous_area_ha: float | None = None
    plot_id: int | None = None
    repair: Repair | None = None
    geometry: MultiPolygon | None = field(default=None, repr=False)
    values: dict[str, Any] = field(default_factory=dict, repr=False)
    attributes: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class ImportReport:
    """Outcome of one import; `as_dict` is the form the CLI (--json) and the API return."""

    file: str
    format: str
    farm: str
    source_crs: SourceCrs
    options: ImportOptions
    mapping: dict[str, str | None]
    features: list[FeatureResult]
    problems: list[Problem]
    committed: bool = False
    import_id: int | None = None

    def counts(self) -> dict[str, int]:
        actions = [result.action for result in self.features]
        return {
            "features": len(actions),
            "created": actions.count("create"),
            "updated": actions.count("update"),
            "unchanged": actions.count("unchanged"),
            "rejected": actions.count("reject"),
            "repaired": sum(1 for result in self.features if result.repair),
            "problems": len(self.problems),
        }

    def as_dict(self) -> dict[str, Any]:
        language = self.options.language
        return {
            "file": self.file,
            "format": self.format,
            "farm": self.farm,
            "source_crs": self.source_crs.label,
            "source_crs_origin": self.source_crs.origin,
            "dry_run": self.options.dry_run,
            "repair": self.options.repair,
            "committed": self.committed,
            "import_id": self.import_id,
            "area_unit": "ha",
            "mapping": self.mapping,
            "counts": self.counts(),
            "features": [_feature_dict(result) for result in self.features],
            "repairs": [_repair_dict(result) for result in self.features if result.repair],
            "problems": [problem.as_dict(language) for problem in self.problems],
        }


def import_file(conn: psycopg.Connection, path: Path, farm_code: str,
                options: ImportOptions | None = None, *, file_name: str | None = None,
                ) -> ImportReport:
    """Import the plots of a vector file into a farm; see the module docstring for the policy.

    Raises ImportFailed (unreadable file, bad mapping), CrsError (missing or mismatched CRS),
    NotFoundError (farm) and GeometryInvalid (any feature problem, unless dry_run).
    """
    chosen = options or ImportOptions()
    source = read_plot_file(path, name=file_name, layer=chosen.layer)
    crs = choose_source_crs(source.format, source.declared_crs, chosen.crs)
    farm_id = plots.farm_id_by_code(conn, farm_code, chosen.workspace)
    names = [name for feature in source.features for name in feature.attributes]
    mapping = resolve_mapping(names, chosen.mapping)
    report = ImportReport(source.name, source.format, farm_code, crs, chosen, mapping, [], [])

    # Per-feature checks: geometry, field values, codes.
    existing = plots.current_farm_plots(conn, farm_id)
    teams = plots.team_codes(conn, farm_id)
    transformer = wgs84_transformer(crs.crs)
    first_index: dict[str, int] = {}
    for feature in source.features:
        result, problems = _check(feature, crs, transformer, mapping, chosen)
        problems += _code_problems(result, existing, teams, first_index, chosen.default_crop)
        report.features.append(result)
        report.problems.extend(problems)

    # File-wide checks: overlaps inside the file and with current plots.
    report.problems.extend(_overlap_problems(conn, farm_id, report.features, existing))
    rejected = {problem.feature for problem in report.problems}
    for result in report.features:
        if result.feature in rejected:
            result.action = "reject"
        elif result.code in existing:
            _plan_update(result, existing[result.code])
    if report.problems and not chosen.dry_run:
        _raise_rejected(report)
    if chosen.dry_run:
        return report

    with conn.transaction():
        _write(conn, farm_id, path, report)
    log.info("imported %s into farm %s: %s", source.name, farm_code, report.counts())
    return report


def _check(feature: SourceFeature, crs: SourceCrs, transformer: Any,
           mapping: Mapping[str, str | None], options: ImportOptions,
           ) -> tuple[FeatureResult, list[Problem]]:
    """Geometry and field-value checks of one feature, with --repair applied when allowed."""
    parsed = parse_values(feature.attributes, mapping)
    code = parsed.values.get("code")
    result = FeatureResult(feature.index, feature.fid, code, "create", values=parsed.values,
                           attributes=_unmapped(feature.attributes, mapping))
    problems: list[Problem] = []

    def add(problem: str, params: dict[str, Any], where: tuple[float, float] | None = None) -> None:
        problems.append(Problem(feature.index, feature.fid, code, problem, params, where))

    checked = check_feature(feature, crs, transformer)
    geometry = checked.geometry
    if checked.problems and options.repair and checked.repairable and geometry is not None:
        fixed = repair_geometry(geometry)
        if fixed is not None:
            fixed_codes = sorted({problem for problem, _params, _where in checked.problems})
            result.repair = Repair(fixed_codes, area_ha(geometry), area_ha(fixed))
            geometry, checked.problems = fixed, []
    for problem, params, where in checked.problems:
        add(problem, params, where)
    if not checked.problems:
        result.geometry = geometry
        result.area_ha = area_ha(geometry) if geometry is not None else None

    for field_name, value, expected in parsed.invalid:
        add("invalid_value", {"field": field_name, "value": str(value), "expected": expected})
    if code is None:
        attribute = mapping.get("code") or "-"
        add("missing_code", {"attribute": attribute})
    return result, problems


def _code_problems(result: FeatureResult, existing: Mapping[str, Any], teams: set[str],
                   first_index: dict[str, int], default_crop: str | None) -> list[Problem]:
    """Duplicate codes in the file, unknown teams, and a crop for every new plot."""
    problems: list[Problem] = []

    def add(problem: str, params: dict[str, Any]) -> None:
        problems.append(Problem(result.feature, result.feature_id, result.code, problem, params))

    code = result.code
    if code is not None:
        if code in first_index:
            add("duplicate_code", {"first": first_index[code]})
        else:
            first_index[code] = result.feature
    team = result.values.get("team")
    if team is not None and team not in teams:
        add("team_not_found", {"team": team})
    if code is not None and code not in existing and "crop" not in result.values:
        if default_crop is None:
            add("missing_crop", {})
        else:
            result.values["crop"] = default_crop
    return problems


def _overlap_problems(conn: psycopg.Connection, farm_id: int, results: list[FeatureResult],
                      existing: Mapping[str, Any]) -> list[Problem]:
    """Overlaps beyond tolerance between features, and with current plots of the workspace.

    A current plot of this farm whose code is in the file is being replaced, so its old boundary
    is left out of the comparison.
    """
    usable = [result for result in results if result.geometry is not None]
    if not usable:
        return []
    geometries = [result.geometry for result in usable]
    problems: list[Problem] = []
    for overlap in overlaps_between(geometries):
        first, second = usable[overlap.first], usable[overlap.second]
        problems.append(Problem(second.feature, second.feature_id, second.code, "overlap", {
            "other": f"#{first.feature} ({first.code or first.feature_id or '-'})",
            "area_m2": round(overlap.area_m2, 1)}, overlap.location))

    replaced = {code for code in (result.code for result in results) if code in existing}
    bounds = tuple(float(v) for v in shapely.total_bounds(geometries))
    workspace_id = plots.farm_workspace_id(conn, farm_id)
    current = [row for row in plots.plots_in_envelope(conn, workspace_id, bounds)  # type: ignore[arg-type]
               if not (row["farm_id"] == farm_id and row["code"] in replaced)]
    for overlap in overlaps_between(geometries, [row["geometry"] for row in current]):
        mine, theirs = usable[overlap.first], current[overlap.second]
        problems.append(Problem(mine.feature, mine.feature_id, mine.code, "overlap_existing", {
            "other": f"{theirs['farm_code']}/{theirs['code']}",
            "area_m2": round(overlap.area_m2, 1)}, overlap.location))
    return problems


# Largest distance, in degrees (about 11 cm), by which a re-imported boundary may differ from the
# current one and still count as unchanged. Exports round coordinates (GeoJSON to 7 decimals), and
# an exported file read back must not add a new boundary version.
SAME_BOUNDARY_TOLERANCE_DEG = 1e-6


def _plan_update(result: FeatureResult, current: Mapping[str, Any]) -> None:
    result.plot_id = current["id"]
    result.previous_area_ha = current["area_ha"]
    same = result.geometry is not None and (
        bool(shapely.equals(result.geometry, current["geometry"]))
        or float(shapely.hausdorff_distance(result.geometry, current["geometry"]))
        <= SAME_BOUNDARY_TOLERANCE_DEG)
    result.action = "unchanged" if same else "update"


def _raise_rejected(report: ImportReport) -> None:
    count = len({problem.feature for problem in report.problems})
    raise GeometryInvalid(
        f"{report.file}: {len(report.problems)} problem(s) in {count} feature(s); nothing was "
        "imported. Fix the file, map other attributes, or use --repair for geometry problems",
        key="gis.import.rejected", file=report.file, problems_count=len(report.problems),
        features_count=count, problems=[p.as_dict(report.options.language)
                                        for p in report.problems],
    )


def _write(conn: psycopg.Connection, farm_id: int, path: Path, report: ImportReport) -> None:
    """Log the import and create or re-shape each plot; runs inside the caller's transaction."""
    counts = report.counts()
    row = conn.execute(
        "INSERT INTO gis.plot_imports (farm_id, file_name, file_format, file_sha256, source_crs,"
        " mapping, created_count, updated_count, repaired_count)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (farm_id, report.file, report.format, _sha256(path), report.source_crs.label,
         psycopg.types.json.Jsonb(report.mapping), counts["created"], counts["updated"],
         counts["repaired"]),
    ).fetchone()
    assert row is not None
    report.import_id = int(row[0])
    source = f"import {report.import_id}: {report.file}"
    created = []
    for result in report.features:
        if result.geometry is None or result.code is None:
            continue
        if result.action == "create":
            values = result.values
            fields = plots.PlotFields(
                code=result.code, crop=values["crop"], planting_year=values.get("planting_year"),
                clone=values.get("clone"), tree_count=values.get("tree_count"),
                tapping_system=values.get("tapping_system"),
                status=values.get("status", "tapping"), team_code=values.get("team"),
                attributes=result.attributes,
            )
            created.append((result, fields))
        elif result.action == "update" and result.plot_id is not None:
            result.area_ha = plots.set_geometry(conn, result.plot_id, result.geometry,
                                                source=source)
    if created:
        ids = plots.create_plots(conn, farm_id, [(fields, result.geometry)
                                                 for result, fields in created], source=source)
        for (result, _), plot_id in zip(created, ids, strict=True):
            result.plot_id = plot_id
    report.committed = True


def _unmapped(attributes: Mapping[str, Any], mapping: Mapping[str, str | None]) -> dict[str, Any]:
    used = {attribute for attribute in mapping.values() if attribute}
    return {k: v for k, v in attributes.items() if k not in used and v is not None}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _feature_dict(result: FeatureResult) -> dict[str, Any]:
    return {
        "feature": result.feature,
        "id": result.feature_id,
        "code": result.code,
        "action": result.action,
        "plot_id": result.plot_id,
        "area_ha": None if result.area_ha is None else round(result.area_ha, 4),
        "previous_area_ha": (None if result.previous_area_ha is None
                             else round(result.previous_area_ha, 4)),
    }


def _repair_dict(result: FeatureResult) -> dict[str, Any]:
    repair = result.repair
    assert repair is not None
    return {
        "feature": result.feature,
        "id": result.feature_id,
        "code": result.code,
        "fixed": repair.fixed,
        "area_before_ha": round(repair.area_before_ha, 4),
        "area_after_ha": round(repair.area_after_ha, 4),
        "area_change_ha": round(repair.area_change_ha, 4),
    }


__all__ = ["PLOT_FIELDS", "FeatureResult", "ImportOptions", "ImportReport", "import_file"]
