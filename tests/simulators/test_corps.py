"""The demo corps as built in memory: counts, geometry, plot attributes and stations."""

from __future__ import annotations

import re
from collections import Counter

from shapely.geometry import Point
from shapely.strtree import STRtree

from tests.simulators.conftest import REFERENCE_YEAR
from vuonso.ingest.codecs import MODELS
from vuonso.simulators.corps import OPENING_AGE, Corps, build_corps

GIA_LAI_BOX = (107.6, 13.6, 108.1, 14.2)  # lon min, lat min, lon max, lat max


def test_corps_counts(corps: Corps) -> None:
    assert len(corps.companies) == 3
    assert len(corps.farms) == 6
    assert len(corps.teams) == 18
    assert len(corps.plots) == 200
    assert len(corps.stations) == 400


def test_unit_kinds_and_names(corps: Corps) -> None:
    kinds = {company.name: company.kind for company in corps.companies}
    assert kinds == {"Đoàn KT-QP 72": "doan_ktqp", "Đoàn KT-QP 74": "doan_ktqp",
                     "Công ty 715": "cong_ty"}


def test_same_seed_same_corps() -> None:
    first, second = build_corps(7, REFERENCE_YEAR), build_corps(7, REFERENCE_YEAR)
    assert first == second


def test_other_seed_other_layout() -> None:
    first, second = build_corps(1, REFERENCE_YEAR), build_corps(2, REFERENCE_YEAR)
    assert first.plots[0].geometry != second.plots[0].geometry
    assert [s.lon for s in first.stations] != [s.lon for s in second.stations]


def test_plots_do_not_overlap(corps: Corps) -> None:
    geometries = [plot.geometry for plot in corps.plots]
    tree = STRtree(geometries)
    touching = [
        (index, other) for index, geometry in enumerate(geometries)
        for other in tree.query(geometry) if other != index and geometry.intersects(geometries[other])
    ]
    assert touching == []


def test_plots_are_valid_and_irregular(corps: Corps) -> None:
    for plot in corps.plots:
        assert plot.geometry.is_valid, plot.fields.code
        # A rectangle has 5 ring points; the irregular edges add more.
        assert len(plot.geometry.exterior.coords) > 5, plot.fields.code


def test_plots_lie_in_western_gia_lai(corps: Corps) -> None:
    lon_min, lat_min, lon_max, lat_max = GIA_LAI_BOX
    for plot in corps.plots:
        west, south, east, north = plot.geometry.bounds
        assert lon_min <= west, plot.fields.code
        assert east <= lon_max, plot.fields.code
        assert lat_min <= south, plot.fields.code
        assert north <= lat_max, plot.fields.code


def test_plot_areas_by_terrain(corps: Corps) -> None:
    flat = [plot.area_ha for plot in corps.plots if plot.fields.attributes["terrain"] == "flat"]
    rolling = [plot.area_ha for plot in corps.plots if plot.fields.attributes["terrain"] == "rolling"]
    assert flat and rolling
    # About 500 x 500 m (25 ha) where flat, smaller blocks on rolling land.
    assert all(19.0 <= area <= 27.6 for area in flat)
    assert all(7.0 <= area <= 16.0 for area in rolling)
    assert 22.5 < sum(flat) / len(flat) < 25.5


def test_plot_codes_unique_per_farm(corps: Corps) -> None:
    keys = [(plot.farm_code, plot.fields.code) for plot in corps.plots]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"Lô \d{1,2}", plot.fields.code) for plot in corps.plots)


def test_status_follows_age(corps: Corps) -> None:
    for plot in corps.plots:
        fields = plot.fields
        assert fields.crop == "rubber"
        assert fields.planting_year is not None
        age = REFERENCE_YEAR - fields.planting_year
        opening_age = OPENING_AGE[fields.attributes["land_class"]]
        expected = "tapping" if age >= opening_age else "immature"
        assert fields.status == expected, fields.code
        assert (fields.tapping_system == "S/2 d3") == (expected == "tapping"), fields.code
    statuses = Counter(plot.fields.status for plot in corps.plots)
    assert statuses["tapping"] > 100
    assert statuses["immature"] > 10


def test_clones_densities_and_trees(corps: Corps) -> None:
    clones = Counter(plot.fields.clone for plot in corps.plots)
    assert {"GT1", "PB 260", "RRIV 124"} <= set(clones)
    for plot in corps.plots:
        density = plot.fields.attributes["density_per_ha"]
        assert density in (476, 500, 555, 571)
        assert plot.fields.tree_count is not None
        trees_per_ha = plot.fields.tree_count / plot.area_ha
        assert 0.8 * density <= trees_per_ha <= density, plot.fields.code


def test_teams_belong_to_their_company(corps: Corps) -> None:
    teams = {(team.company_code, team.code) for team in corps.teams}
    for plot in corps.plots:
        assert (plot.company_code, plot.fields.team_code) in teams, plot.fields.code


def test_two_stations_inside_each_plot(corps: Corps) -> None:
    plots = {(plot.farm_code, plot.fields.code): plot for plot in corps.plots}
    per_plot = Counter((station.farm_code, station.plot_code) for station in corps.stations)
    assert set(per_plot.values()) == {2}
    for station in corps.stations:
        plot = plots[(station.farm_code, station.plot_code)]
        assert plot.geometry.contains(Point(station.lon, station.lat)), station.device_id


def test_station_transports(corps: Corps) -> None:
    transports = Counter(station.transport for station in corps.stations)
    assert transports["json"] > 200
    assert transports["senml"] == 60
    assert transports["chirpstack"] + transports["tts"] == 60
    assert transports["chirpstack"] > 0
    assert transports["tts"] > 0


def test_lorawan_stations_have_codec_models(corps: Corps) -> None:
    lorawan = [station for station in corps.stations if station.transport in ("chirpstack", "tts")]
    assert {station.model for station in lorawan} == set(MODELS) - {"vuonso-station"}
    dev_euis = [station.dev_eui for station in lorawan]
    assert all(eui and re.fullmatch(r"[0-9a-f]{16}", eui) for eui in dev_euis)
    assert len(set(dev_euis)) == len(dev_euis)
    native = [station for station in corps.stations if station.transport in ("json", "senml")]
    assert all(station.model == "vuonso-station" and station.dev_eui is None for station in native)


def test_station_topics_match_ingest_filters(corps: Corps) -> None:
    from paho.mqtt.client import topic_matches_sub

    from vuonso.core.settings import DEFAULT_TOPIC_FORMATS

    for station in corps.stations:
        formats = [fmt for topic_filter, fmt in DEFAULT_TOPIC_FORMATS.items()
                   if topic_matches_sub(topic_filter, station.topic)]
        assert formats == [station.transport], station.topic


def test_stations_independent_of_year() -> None:
    # The simulator rebuilds the corps in the current year, possibly later than the seed ran.
    early, late = build_corps(1, REFERENCE_YEAR), build_corps(1, REFERENCE_YEAR + 6)
    assert early.stations == late.stations
    assert [plot.geometry for plot in early.plots] == [plot.geometry for plot in late.plots]
    assert [plot.fields.clone for plot in early.plots] == [plot.fields.clone for plot in late.plots]
