"""OGC API - Features service without HTTP: parameters, negotiation, documents and sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from shapely.geometry import box, shape

from tests.support.database import empty_package_tables
from vuonso.gis import plots
from vuonso.gis.area import area_ha
from vuonso.gis.ogc.documents import Urls, feature_collection
from vuonso.gis.ogc.errors import ParameterInvalid
from vuonso.gis.ogc.farm_source import INFO as FARMS_INFO
from vuonso.gis.ogc.farm_source import FarmSource
from vuonso.gis.ogc.map_data import map_plots, tolerance_deg
from vuonso.gis.ogc.model import BBox, Interval, ItemsQuery, Page, Workspace
from vuonso.gis.ogc.negotiation import choose_format
from vuonso.gis.ogc.openapi import openapi_document
from vuonso.gis.ogc.params import parse_items_query, parse_options
from vuonso.gis.ogc.plot_source import INFO as PLOTS_INFO
from vuonso.gis.ogc.plot_source import PlotSource
from vuonso.gis.ogc.track_source import TrackSource
from vuonso.gis.tracks import import_gpx
from vuonso.ingest import devices
from vuonso.ingest.features import MAP_LAYERS, DeviceSource, plot_values
from vuonso.ingest.partitions import ensure_for_times

UTC_0801 = datetime(2024, 5, 1, 1, 0, tzinfo=UTC)


# --- query parameters -------------------------------------------------------------------------

REJECTED = [
    # (query pairs, rejected parameter, catalog key of the reason)
    ([("bbox", "1,2,3")], "bbox", "gis.ogc.bbox_count"),
    ([("bbox", "1,2,3,4,5")], "bbox", "gis.ogc.bbox_count"),
    ([("bbox", "10,20,5,30")], "bbox", "gis.ogc.bbox_antimeridian"),
    ([("bbox", "100,95,101,96")], "bbox", "gis.ogc.bbox_lat_range"),
    ([("bbox", "181,1,182,2")], "bbox", "gis.ogc.bbox_lon_range"),
    ([("bbox", "1,5,2,4")], "bbox", "gis.ogc.bbox_lat_order"),
    ([("bbox", "a,1,2,3")], "bbox", "gis.ogc.bbox_number"),
    ([("bbox", "nan,1,2,3")], "bbox", "gis.ogc.bbox_number"),
    ([("bbox", "1,2,10,3,4,5")], "bbox", "gis.ogc.bbox_height_order"),
    ([("limit", "0")], "limit", "gis.ogc.limit_invalid"),
    ([("limit", "10001")], "limit", "gis.ogc.limit_invalid"),
    ([("limit", "-1")], "limit", "gis.ogc.limit_invalid"),
    ([("limit", "2.5")], "limit", "gis.ogc.limit_invalid"),
    ([("offset", "-3")], "offset", "gis.ogc.offset_invalid"),
    ([("datetime", "2024-05-01T08:00:00")], "datetime", "gis.ogc.datetime_offset_missing"),
    ([("datetime", "2024-05-01")], "datetime", "gis.ogc.datetime_invalid"),
    ([("datetime", "2024-13-01T00:00:00Z")], "datetime", "gis.ogc.datetime_invalid"),
    ([("datetime", "yesterday")], "datetime", "gis.ogc.datetime_invalid"),
    ([("datetime", "../..")], "datetime", "gis.ogc.datetime_unbounded"),
    ([("datetime", "2024-05-02T00:00:00Z/2024-05-01T00:00:00Z")], "datetime",
     "gis.ogc.datetime_order"),
    ([("datetime", "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z/..")], "datetime",
     "gis.ogc.datetime_invalid"),
    ([("f", "xml")], "f", "gis.ogc.format_invalid"),
    ([("lang", "fr")], "lang", "gis.ogc.language_invalid"),
    ([("foo", "1")], "foo", "gis.ogc.param_unknown"),
    ([("bbox-crs", "EPSG:4326")], "bbox-crs", "gis.ogc.param_unknown"),
    ([("limit", "5"), ("limit", "6")], "limit", "gis.ogc.param_repeated"),
    ([("crop", "tea")], "crop", "gis.ogc.filter_value"),
    ([("farm_code", "x" * 101)], "farm_code", "gis.ogc.filter_length"),
]


@pytest.mark.parametrize(("pairs", "parameter", "key"), REJECTED)
def test_items_parameter_rejected(pairs: list[tuple[str, str]], parameter: str, key: str) -> None:
    with pytest.raises(ParameterInvalid) as caught:
        parse_items_query(pairs, PLOTS_INFO, "en")
    assert caught.value.status == 400
    assert caught.value.key == key
    assert caught.value.problems[0]["parameter"] == parameter
    assert caught.value.message  # English detail for the log and the JSON body


ACCEPTED = [
    # (query pairs, expected bbox, expected interval start, expected interval end)
    ([("bbox", "106.8,11.5,106.9,11.6")], BBox(106.8, 11.5, 106.9, 11.6), None, None),
    ([("bbox", "106.8,11.5,-5,106.9,11.6,40")], BBox(106.8, 11.5, 106.9, 11.6), None, None),
    ([("bbox", "1,2,1,2")], BBox(1, 2, 1, 2), None, None),
    ([("datetime", "2024-05-01T01:00:00Z")], None, UTC_0801, UTC_0801),
    ([("datetime", "2024-05-01T08:00:00+07:00")], None, UTC_0801, UTC_0801),
    # A '+' decoded to a space by URL form decoding still reads as an offset.
    ([("datetime", "2024-05-01T08:00:00 07:00")], None, UTC_0801, UTC_0801),
    ([("datetime", "2024-05-01t01:00:00z")], None, UTC_0801, UTC_0801),
    ([("datetime", "2024-05-01T01:00:00Z/..")], None, UTC_0801, None),
    ([("datetime", "../2024-05-01T01:00:00Z")], None, None, UTC_0801),
    ([("datetime", "/2024-05-01T01:00:00Z")], None, None, UTC_0801),
    ([("datetime", "2024-05-01T01:00:00.000000999Z")], None, UTC_0801, UTC_0801),
]


@pytest.mark.parametrize(("pairs", "bbox", "start", "end"), ACCEPTED)
def test_items_parameter_accepted(pairs: list[tuple[str, str]], bbox: BBox | None,
                                  start: datetime | None, end: datetime | None) -> None:
    query, _options = parse_items_query(pairs, PLOTS_INFO, "vi")
    assert query.bbox == bbox
    if start is None and end is None:
        assert query.interval is None
    else:
        assert query.interval == Interval(start, end)


def test_items_defaults_and_limits() -> None:
    query, options = parse_items_query([], PLOTS_INFO, "vi")
    assert (query.limit, query.offset, query.bbox, query.interval) == (10, 0, None, None)
    assert (options.format, options.language) == (None, None)
    query, options = parse_items_query([("limit", "10000"), ("offset", "0"), ("f", "html"),
                                        ("lang", "en"), ("farm_code", "NT1")], PLOTS_INFO, "vi")
    assert query.limit == 10000
    assert query.filters == {"farm_code": "NT1"}
    assert (options.format, options.language) == ("html", "en")


def test_items_problems_reported_together() -> None:
    pairs = [("bbox", "1,2,3"), ("limit", "0"), ("foo", "x")]
    with pytest.raises(ParameterInvalid) as caught:
        parse_items_query(pairs, PLOTS_INFO, "vi")
    assert caught.value.key == "gis.ogc.parameters_invalid"
    assert [problem["parameter"] for problem in caught.value.problems] == ["foo", "limit", "bbox"]
    assert "bbox" in caught.value.message


def test_problem_messages_follow_language() -> None:
    messages = {}
    for language in ("vi", "en"):
        with pytest.raises(ParameterInvalid) as caught:
            parse_items_query([("limit", "0")], PLOTS_INFO, language)
        messages[language] = caught.value.problems[0]["message"]
    assert "Give a whole number" in messages["en"]
    assert "số nguyên" in messages["vi"]


def test_farms_reject_datetime() -> None:
    with pytest.raises(ParameterInvalid) as caught:
        parse_items_query([("datetime", "2024-05-01T01:00:00Z")], FARMS_INFO, "en")
    assert caught.value.key == "gis.ogc.param_unknown"


def test_options_reject_items_parameters() -> None:
    with pytest.raises(ParameterInvalid) as caught:
        parse_options([("limit", "5")], "en")
    assert caught.value.problems[0]["parameter"] == "limit"


NEGOTIATION = [
    (None, None, "json"),
    (None, "*/*", "json"),
    (None, "application/geo+json, application/json", "json"),
    (None, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
    (None, "application/json;q=0.5, text/html", "html"),
    (None, "text/html;q=0.1, application/json", "json"),
    (None, "text/*", "html"),
    ("json", "text/html", "json"),
    ("html", "application/json", "html"),
]


@pytest.mark.parametrize(("requested", "accept", "expected"), NEGOTIATION)
def test_format_negotiation(requested: Any, accept: str | None, expected: str) -> None:
    assert choose_format(requested, accept) == expected


# --- documents --------------------------------------------------------------------------------

def test_paging_links_keep_selection() -> None:
    query = ItemsQuery(limit=10, offset=10, bbox=BBox(106.8, 11.5, 106.9, 11.6),
                       interval=Interval(UTC_0801, None), filters={"farm_code": "NT1"})
    features = [{"type": "Feature", "id": n, "geometry": None, "properties": {}}
                for n in range(10)]
    document = feature_collection(Urls("http://127.0.0.1:8000"), PLOTS_INFO, query,
                                  Page(features, 25), "json", "en", UTC_0801)
    links = {link["rel"]: link["href"] for link in document["links"]}
    assert links["next"] == ("http://127.0.0.1:8000/ogc/collections/plots/items?"
                             "bbox=106.8,11.5,106.9,11.6&datetime=2024-05-01T01:00:00Z/..&"
                             "farm_code=NT1&offset=20&f=json")
    assert "offset" not in links["prev"]
    assert (document["numberMatched"], document["numberReturned"]) == (25, 10)
    assert document["timeStamp"] == "2024-05-01T01:00:00Z"


def test_last_page_has_no_next_link() -> None:
    query = ItemsQuery(limit=10, offset=20)
    features = [{"type": "Feature", "id": n, "geometry": None, "properties": {}}
                for n in range(5)]
    document = feature_collection(Urls("http://h", "en"), PLOTS_INFO, query, Page(features, 25),
                                  "html", "en", UTC_0801)
    rels = [link["rel"] for link in document["links"]]
    assert "next" not in rels
    assert "prev" in rels
    assert all(link["href"].endswith("lang=en") for link in document["links"])


def test_openapi_parameters_per_collection() -> None:
    infos = [PLOTS_INFO, FARMS_INFO, DeviceSource.info, TrackSource.info]
    document = openapi_document(Urls("http://h"), infos, "en", "1.0")
    components = document["components"]["parameters"]

    def names(path: str) -> set[str]:
        found = set()
        for parameter in document["paths"][path]["get"]["parameters"]:
            if "$ref" in parameter:
                parameter = components[parameter["$ref"].rsplit("/", 1)[-1]]
            found.add(parameter["name"])
        return found

    assert names("/ogc/collections/plots/items") == {
        "f", "lang", "bbox", "limit", "offset", "datetime", "farm_code", "company_code", "crop",
        "status"}
    assert "datetime" not in names("/ogc/collections/farms/items")
    assert names("/ogc/collections/tracks/items") >= {"datetime", "worker"}
    assert names("/ogc/collections/devices/items/{featureId}") == {"featureId", "f", "lang"}
    assert document["servers"] == [{"url": "http://h"}]


def test_openapi_references_resolve() -> None:
    document = openapi_document(Urls("http://h"), [PLOTS_INFO, FARMS_INFO], "vi", "1.0")
    references: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                references.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert references
    for reference in references:
        target: Any = document
        for part in reference.removeprefix("#/").split("/"):
            assert part in target, f"{reference} does not resolve"
            target = target[part]


# --- sources against PostGIS ------------------------------------------------------------------

@pytest.fixture()
def registry(database_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection whose gis and ingest tables are empty."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        empty_package_tables(conn)
        yield conn


@pytest.fixture()
def workspace(registry: psycopg.Connection) -> Workspace:
    return Workspace(plots.workspace_id(registry, "production"), "production")


def cell(column: int, row: int = 0) -> Any:
    """A ~0.7 ha square near Đồng Xoài; cells of different column or row never touch."""
    west, south = 106.80 + column * 0.002, 11.50 + row * 0.002
    return box(west, south, west + 0.0008, south + 0.0008)


def make_grid(conn: psycopg.Connection, columns: int, rows: int,
              farm_codes: tuple[str, ...] = ("NT1",)) -> list[int]:
    company = plots.create_company(conn, "CSDX", "Cao su Đồng Xoài")
    farm_ids = [plots.create_farm(conn, company, code, f"Nông trường {code}")
                for code in farm_codes]
    created = []
    for row in range(rows):
        for column in range(columns):
            farm = farm_ids[(row * columns + column) % len(farm_ids)]
            fields = plots.PlotFields(code=f"L{row}{column:02d}", crop="rubber",
                                      planting_year=2015, tree_count=500)
            created.append(plots.create_plot(conn, farm, fields, cell(column, row)))
    return created


def codes(page: Page) -> list[str]:
    return [feature["properties"]["code"] for feature in page.features]


def test_plots_page_counts_and_order(registry: psycopg.Connection, workspace: Workspace) -> None:
    make_grid(registry, 4, 3)
    source = PlotSource()
    first = source.page(registry, workspace, ItemsQuery(limit=5))
    last = source.page(registry, workspace, ItemsQuery(limit=5, offset=10))
    beyond = source.page(registry, workspace, ItemsQuery(limit=5, offset=20))
    assert (first.number_matched, len(first.features)) == (12, 5)
    assert [feature["id"] for feature in first.features] == [1, 2, 3, 4, 5]
    assert (last.number_matched, len(last.features)) == (12, 2)
    assert (beyond.number_matched, beyond.features) == (12, [])


def test_plot_feature_carries_area_and_geometry(registry: psycopg.Connection,
                                                workspace: Workspace) -> None:
    make_grid(registry, 1, 1)
    found = PlotSource().feature(registry, workspace, "1")
    assert found is not None
    assert found["geometry"]["type"] == "MultiPolygon"
    assert shape(found["geometry"]).symmetric_difference(cell(0, 0)).area < 1e-12
    assert found["properties"]["area_ha"] == round(area_ha(cell(0, 0)), 4)
    assert found["properties"]["tree_count"] == 500
    assert found["properties"]["geometry_valid_to"] is None


@pytest.mark.parametrize("feature_id", ["2", "abc", "-1", "1.0", "9" * 30])
def test_plot_feature_missing(registry: psycopg.Connection, workspace: Workspace,
                              feature_id: str) -> None:
    make_grid(registry, 1, 1)
    assert PlotSource().feature(registry, workspace, feature_id) is None


def test_plots_bbox_selects_intersecting(registry: psycopg.Connection,
                                         workspace: Workspace) -> None:
    make_grid(registry, 4, 3)
    # Covers columns 1-2 of rows 0-1, and touches nothing else.
    query = ItemsQuery(limit=100, bbox=BBox(106.8021, 11.5001, 106.8041, 11.5021))
    page = PlotSource().page(registry, workspace, query)
    assert sorted(codes(page)) == ["L001", "L002", "L101", "L102"]
    assert page.number_matched == 4


def test_plots_filters(registry: psycopg.Connection, workspace: Workspace) -> None:
    make_grid(registry, 3, 2, farm_codes=("NT1", "NT2"))
    page = PlotSource().page(registry, workspace, ItemsQuery(limit=100,
                                                             filters={"farm_code": "NT2"}))
    assert codes(page) == ["L001", "L100", "L102"]
    none = PlotSource().page(registry, workspace, ItemsQuery(filters={"crop": "coffee"}))
    assert (none.features, none.number_matched) == ([], 0)


def test_plots_of_other_workspace_hidden(registry: psycopg.Connection,
                                         workspace: Workspace) -> None:
    registry.execute("INSERT INTO core.workspaces (code, name, kind)"
                     " VALUES ('ogc-practice', 'Practice', 'practice') ON CONFLICT DO NOTHING")
    company = plots.create_company(registry, "LOP1", "Lớp thực hành", workspace="ogc-practice")
    farm = plots.create_farm(registry, company, "NT9", "Nông trường thực hành")
    plots.create_plot(registry, farm, plots.PlotFields(code="P1", crop="coffee"), cell(0))
    source = PlotSource()
    assert source.page(registry, workspace, ItemsQuery()).number_matched == 0
    assert source.feature(registry, workspace, "1") is None
    practice = Workspace(plots.workspace_id(registry, "ogc-practice"), "ogc-practice")
    assert source.page(registry, practice, ItemsQuery()).number_matched == 1


def test_plots_datetime_returns_boundary_then(registry: psycopg.Connection,
                                              workspace: Workspace) -> None:
    [plot_id] = make_grid(registry, 1, 1)
    source = PlotSource()
    first = source.feature(registry, workspace, str(plot_id))
    assert first is not None
    created = datetime.fromisoformat(first["properties"]["geometry_valid_from"])
    changed = created + timedelta(hours=1)
    plots.set_geometry(registry, plot_id, cell(5, 5), valid_from=changed)

    def boundary_at(interval: Interval) -> Any:
        page = source.page(registry, workspace, ItemsQuery(interval=interval))
        return [shape(feature["geometry"]) for feature in page.features]

    before = created + timedelta(minutes=30)
    after = created + timedelta(hours=2)
    [old] = boundary_at(Interval(before, before))
    [new] = boundary_at(Interval(after, after))
    [latest_in_span] = boundary_at(Interval(before, after))
    assert old.intersects(cell(0, 0))
    assert not old.intersects(cell(5, 5))
    assert new.intersects(cell(5, 5))
    assert not new.intersects(cell(0, 0))
    assert latest_in_span.equals(new)
    assert boundary_at(Interval(None, created - timedelta(days=1))) == []
    [at_change] = boundary_at(Interval(changed, changed))
    assert at_change.equals(new)  # validity is [valid_from, valid_to): the change time is new

    # A bbox applies to the boundary valid at the requested time.
    query = ItemsQuery(bbox=BBox(*cell(0, 0).bounds), interval=Interval(after, after))
    assert source.page(registry, workspace, query).number_matched == 0


class RecordingConnection:
    """Passes calls to a connection and keeps each query with its parameters."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.queries: list[tuple[str, Any]] = []

    def execute(self, query: str, params: Any = None) -> Any:
        self.queries.append((query, params))
        return self.conn.execute(query, params)


def test_plots_bbox_query_uses_gist_index(registry: psycopg.Connection,
                                          workspace: Workspace) -> None:
    make_grid(registry, 4, 3)
    recorder = RecordingConnection(registry)
    query = ItemsQuery(limit=100, bbox=BBox(106.8021, 11.5001, 106.8041, 11.5021))
    PlotSource().page(recorder, workspace, query)  # type: ignore[arg-type]
    page_sql, params = recorder.queries[0]
    with registry.transaction():
        registry.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in registry.execute("EXPLAIN " + page_sql, params))
    assert "plot_geometries_geom" in plan
    assert "ST_MakeEnvelope" in page_sql


def test_farms_hull_area_and_filters(registry: psycopg.Connection,
                                     workspace: Workspace) -> None:
    make_grid(registry, 3, 2, farm_codes=("NT1", "NT2"))
    company = registry.execute("SELECT id FROM gis.companies").fetchone()
    assert company is not None
    plots.create_farm(registry, company[0], "NT3", "Nông trường trống")
    source = FarmSource()
    page = source.page(registry, workspace, ItemsQuery())
    by_code = {feature["properties"]["code"]: feature for feature in page.features}
    assert page.number_matched == 3
    assert by_code["NT1"]["properties"]["plot_count"] == 3
    assert by_code["NT1"]["geometry"]["type"] == "Polygon"
    hull = shape(by_code["NT1"]["geometry"]).buffer(1e-6)  # coordinates have 7 decimals
    assert all(hull.covers(cell(column, row)) for column, row in ((0, 0), (2, 0), (1, 1)))
    assert by_code["NT3"]["geometry"] is None
    assert by_code["NT3"]["properties"]["area_ha"] == 0
    plot_area = registry.execute("SELECT sum(area_ha) FROM gis.plot_geometries g"
                                 " JOIN gis.plots p ON p.id = g.plot_id"
                                 " JOIN gis.farms f ON f.id = p.farm_id WHERE f.code = 'NT1'"
                                 ).fetchone()
    assert plot_area is not None
    assert by_code["NT1"]["properties"]["area_ha"] == pytest.approx(plot_area[0], abs=1e-3)

    in_box = source.page(registry, workspace, ItemsQuery(bbox=BBox(*cell(1, 0).bounds)))
    assert sorted(f["properties"]["code"] for f in in_box.features) == ["NT1", "NT2"]
    other = source.page(registry, workspace, ItemsQuery(filters={"company_code": "NONE"}))
    assert other.number_matched == 0
    assert source.feature(registry, workspace, str(by_code["NT2"]["id"])) is not None
    assert source.feature(registry, workspace, "999") is None


def test_devices_current_and_past_placement(registry: psycopg.Connection,
                                            workspace: Workspace) -> None:
    make_grid(registry, 2, 1)
    first_plot = devices.register_device(registry, "st-01", "dragino-lse01",
                                         *cell(0).centroid.coords[0])
    devices.move_device(registry, "st-01", *cell(1).centroid.coords[0])
    devices.register_device(registry, "st-02", "decentlab-dl-5tm", 106.9, 11.9)
    source = DeviceSource()

    now = source.page(registry, workspace, ItemsQuery())
    assert [feature["id"] for feature in now.features] == ["st-01", "st-02"]
    assert now.features[0]["properties"]["plot_id"] == 2
    placements = registry.execute(
        "SELECT valid_from, valid_to FROM ingest.device_placements WHERE device_id = 'st-01'"
        " ORDER BY valid_from").fetchall()
    moved = placements[0][1]
    first_at = placements[0][0] + (moved - placements[0][0]) / 2
    then = source.page(registry, workspace, ItemsQuery(interval=Interval(first_at, first_at)))
    assert [feature["id"] for feature in then.features] == ["st-01"]
    assert then.features[0]["properties"]["plot_id"] == first_plot == 1

    in_box = source.page(registry, workspace, ItemsQuery(bbox=BBox(*cell(1).bounds)))
    assert [feature["id"] for feature in in_box.features] == ["st-01"]
    by_model = source.page(registry, workspace, ItemsQuery(filters={"model": "decentlab-dl-5tm"}))
    assert [feature["id"] for feature in by_model.features] == ["st-02"]
    found = source.feature(registry, workspace, "st-02")
    assert found is not None and found["geometry"] == {"type": "Point", "coordinates": [106.9, 11.9]}
    extent = source.extent(registry, workspace)
    assert extent.bbox is not None and extent.bbox[2] == pytest.approx(106.9)


GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>Morning round</name>
<trkseg>
<trkpt lat="11.5001" lon="106.8001"><time>2024-05-01T00:00:00Z</time></trkpt>
<trkpt lat="11.5005" lon="106.8005"><time>2024-05-01T00:05:00Z</time></trkpt>
</trkseg>
<trkseg>
<trkpt lat="11.5011" lon="106.8011"><time>2024-05-01T00:10:00Z</time></trkpt>
<trkpt lat="11.5015" lon="106.8015"><time>2024-05-01T00:15:00Z</time></trkpt>
</trkseg>
</trk>
<trk><name>Untimed</name>
<trkseg>
<trkpt lat="12.0" lon="107.0"/><trkpt lat="12.001" lon="107.001"/>
</trkseg>
</trk>
</gpx>
"""


def test_tracks_filter_by_bbox_and_time(registry: psycopg.Connection,
                                        workspace: Workspace) -> None:
    result = import_gpx(registry, GPX, worker="NV-7", source_file="round.gpx")
    timed, untimed = result.track_ids
    source = TrackSource()

    every = source.page(registry, workspace, ItemsQuery())
    assert every.number_matched == 2
    by_id = {feature["id"]: feature for feature in every.features}
    assert by_id[timed]["geometry"]["type"] == "MultiLineString"
    assert len(by_id[timed]["geometry"]["coordinates"]) == 2
    assert by_id[timed]["properties"]["segments"] == 2
    assert by_id[timed]["properties"]["start"] == "2024-05-01T00:00:00Z"

    during = Interval(datetime(2024, 5, 1, 0, 7, tzinfo=UTC), None)
    assert [f["id"] for f in source.page(registry, workspace,
                                         ItemsQuery(interval=during)).features] == [timed]
    later = Interval(datetime(2024, 5, 2, tzinfo=UTC), None)
    assert source.page(registry, workspace, ItemsQuery(interval=later)).number_matched == 0
    near_untimed = ItemsQuery(bbox=BBox(106.99, 11.99, 107.01, 12.01))
    assert [f["id"] for f in source.page(registry, workspace, near_untimed).features] == [untimed]
    assert source.page(registry, workspace, ItemsQuery(filters={"worker": "NV-8"})).features == []
    assert source.feature(registry, workspace, str(untimed)) is not None
    assert source.feature(registry, workspace, "999") is None
    extent = source.extent(registry, workspace)
    assert extent.bbox == pytest.approx((106.8001, 11.5001, 107.001, 12.001))


def test_map_plots_light_and_simplified(registry: psycopg.Connection,
                                        workspace: Workspace) -> None:
    company = plots.create_company(registry, "CSDX", "Cao su Đồng Xoài")
    farm = plots.create_farm(registry, company, "NT1", "Nông trường 1")
    # A 200-vertex circle, about 0.6 ha: one screen pixel at zoom 12 is about 38 m wide.
    circle = shape({"type": "Point", "coordinates": [106.8, 11.5]}).buffer(0.0004, 50)
    plots.create_plot(registry, farm, plots.PlotFields(code="C1", crop="coffee"), circle)

    fine = map_plots(registry, workspace, ItemsQuery(limit=10), None)
    coarse = map_plots(registry, workspace, ItemsQuery(limit=10), 12)
    [fine_feature], [coarse_feature] = fine["features"], coarse["features"]
    assert set(fine_feature["properties"]) == {"code", "farm_code", "area_ha"}

    def vertices(feature: dict[str, Any]) -> int:
        return len(shape(feature["geometry"]).exterior.coords) if feature["geometry"]["type"] \
            == "Polygon" else sum(len(p.exterior.coords) for p in shape(feature["geometry"]).geoms)

    assert vertices(coarse_feature) < vertices(fine_feature) / 4
    assert coarse["nextOffset"] is None
    assert tolerance_deg(0) == pytest.approx(360 / 256)


def test_plot_values_latest_and_sum(registry: psycopg.Connection, workspace: Workspace) -> None:
    first, second, third = make_grid(registry, 3, 1)
    devices.register_device(registry, "st-01", "dragino-lse01", *cell(0).centroid.coords[0])
    devices.register_device(registry, "st-02", "dragino-lse01", *cell(1).centroid.coords[0])
    devices.register_device(registry, "st-03", "dragino-lse01", *cell(1).centroid.coords[0])
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    rows = [
        (now - timedelta(hours=1), "st-01", "soil_moisture_20cm", 30.0, "%", first),
        (now - timedelta(hours=3), "st-01", "soil_moisture_20cm", 20.0, "%", first),
        (now - timedelta(days=5), "st-02", "soil_moisture_20cm", 40.0, "%", second),
        (now - timedelta(hours=2), "st-02", "rainfall", 4.0, "mm", second),
        (now - timedelta(hours=20), "st-02", "rainfall", 6.0, "mm", second),
        (now - timedelta(hours=30), "st-02", "rainfall", 50.0, "mm", second),
        (now - timedelta(hours=5), "st-03", "rainfall", 2.0, "mm", second),
    ]
    ensure_for_times(registry, [row[0] for row in rows])
    with registry.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingest.readings (time, device_id, metric, value, unit, plot_id,"
            " received_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(*row, now) for row in rows])

    moisture = plot_values(registry, workspace, ItemsQuery(limit=100),
                           MAP_LAYERS["soil_moisture_20cm"], now)
    assert moisture["plots"] == 3
    assert moisture["values"] == [{"plot_id": first, "value": 30.0,
                                   "time": "2024-05-01T11:00:00Z"}]
    rain = plot_values(registry, workspace, ItemsQuery(limit=100), MAP_LAYERS["rainfall"], now)
    # Two gauges in the second plot: 10 mm and 2 mm over 24 h, averaged.
    assert [(entry["plot_id"], entry["value"]) for entry in rain["values"]] == [(second, 6.0)]
    assert rain["unit"] == "mm"
    elsewhere = plot_values(registry, workspace, ItemsQuery(bbox=BBox(*cell(2).bounds)),
                            MAP_LAYERS["rainfall"], now)
    assert (elsewhere["plots"], elsewhere["values"]) == (1, [])
    assert third == 3
