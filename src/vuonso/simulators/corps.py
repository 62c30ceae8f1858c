"""The demo corps: three company-level units of Binh đoàn 15 in western Gia Lai, six farms, their
production teams, 200 rubber plots and 400 sensor stations.

Everything is a pure function of the seed and the reference year, which sets plot status by age.
So `build_corps` gives the same corps on every machine, and `vuonso.simulators.seed` stores it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from shapely.geometry import Polygon

from vuonso.gis.area import area_ha
from vuonso.gis.plots import PlotFields
from vuonso.simulators.layout import FarmSite, PlotShape, farm_plots, point_inside
from vuonso.simulators.weather import LOCAL_TZ

STATIONS_PER_PLOT = 2
LORAWAN_STATIONS = 60
SENML_STATIONS = 60
STATION_MODEL = "vuonso-station"  # the platform's own station, speaking native JSON or SenML
LORAWAN_MODELS = (
    "decentlab-dl-5tm",
    "decentlab-dl-atm41",
    "decentlab-dl-tbrg",
    "dragino-lse01",
    "milesight-em500-smt",
    "milesight-em500-smtc",
    "sensecap-s2105",
)
# Organisationally unique identifiers the vendors use at the start of their DevEUIs.
DEV_EUI_PREFIXES = {
    "decentlab-dl-5tm": "70b3d57ba0",
    "decentlab-dl-atm41": "70b3d57ba0",
    "decentlab-dl-tbrg": "70b3d57ba0",
    "dragino-lse01": "a84041",
    "milesight-em500-smt": "24e124",
    "milesight-em500-smtc": "24e124",
    "sensecap-s2105": "2cf7f1",
}
TTS_TENANT = "binhdoan15"
TAPPING_SYSTEM = "S/2 d3"
# Age in years at which plots open for tapping, by land class (VRG girth targets).
OPENING_AGE = {"I": 7, "II": 8, "III": 9}
SPACING_BY_DENSITY = {476: "7 × 3 m", 500: "6 × 3.3 m", 555: "6 × 3 m", 571: "7 × 2.5 m"}


@dataclass(frozen=True, slots=True)
class CompanyPlan:
    code: str
    name: str
    kind: str  # cong_ty, doan_ktqp or chi_nhanh
    former_names: tuple[str, ...]
    network: str  # LoRaWAN network server of the unit: "chirpstack" (v4) or "tts" (v3)


@dataclass(frozen=True, slots=True)
class FarmPlan:
    company_code: str
    code: str
    name: str
    site: FarmSite
    elevation_m: float
    land_class: str


@dataclass(frozen=True, slots=True)
class TeamPlan:
    company_code: str
    farm_code: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class PlotPlan:
    company_code: str
    farm_code: str
    fields: PlotFields
    shape: PlotShape
    area_ha: float
    elevation_m: float

    @property
    def geometry(self) -> Polygon:
        return self.shape.geometry


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A sensor station of the demo: identity, payload format and transport, and position."""

    device_id: str
    model: str
    transport: str  # "json", "senml", "chirpstack" or "tts"
    lon: float
    lat: float
    company_code: str
    farm_code: str
    plot_code: str
    elevation_m: float
    planting_year: int
    dev_eui: str | None = None
    application: str | None = None  # ChirpStack application id, or "app@tenant" for TTS

    @property
    def topic(self) -> str:
        """The MQTT topic this station's messages go to (the ingest subscription filters)."""
        if self.transport == "json":
            return f"vuonso/devices/{self.device_id}/up"
        if self.transport == "senml":
            return f"vuonso/senml/{self.device_id}"
        if self.transport == "chirpstack":
            return f"application/{self.application}/device/{self.dev_eui}/event/up"
        return f"v3/{self.application}/devices/{self.device_id}/up"


@dataclass(frozen=True, slots=True)
class Corps:
    seed: int
    reference_year: int
    companies: tuple[CompanyPlan, ...]
    farms: tuple[FarmPlan, ...]
    teams: tuple[TeamPlan, ...]
    plots: tuple[PlotPlan, ...]
    stations: tuple[StationSpec, ...]


COMPANIES = (
    CompanyPlan("72", "Đoàn KT-QP 72", "doan_ktqp", ("Công ty TNHH MTV 72",), "chirpstack"),
    CompanyPlan("74", "Đoàn KT-QP 74", "doan_ktqp", ("Công ty TNHH MTV 74",), "tts"),
    CompanyPlan("715", "Công ty 715", "cong_ty", (), "chirpstack"),
)
PROVINCE = "Gia Lai"
# Sites along the Đức Cơ, Chư Prông and Ia Grai border belt. Each farm spans at most about 4 km
# and the sites are at least 10 km apart, so farms never overlap.
FARMS = (
    FarmPlan("72", "72-NT1", "Nông trường 1", FarmSite(107.645, 13.725, "flat", 0.0, 34), 430, "I"),
    FarmPlan("72", "72-NT2", "Nông trường 2", FarmSite(107.690, 13.845, "flat", 0.0, 34), 460, "I"),
    FarmPlan("74", "74-NT1", "Nông trường 1", FarmSite(107.805, 13.625, "rolling", 12.0, 33), 500, "II"),
    FarmPlan("74", "74-NT2", "Nông trường 2", FarmSite(107.925, 13.690, "rolling", -9.0, 33), 540, "II"),
    FarmPlan("715", "715-NT1", "Nông trường 1", FarmSite(107.745, 13.965, "flat", 0.0, 33), 560, "I"),
    FarmPlan("715", "715-NT2", "Nông trường 2", FarmSite(107.880, 14.080, "rolling", 7.0, 33), 650, "III"),
)
TEAMS_PER_FARM = 3


def current_year() -> int:
    return datetime.now(LOCAL_TZ).year


def _planting_year(rng: random.Random) -> int:
    """Draw a planting year, weighted towards the corps' expansion of the 2000s."""
    low, high = rng.choices([(1998, 2004), (2005, 2012), (2013, 2018), (2019, 2023)],
                            weights=[0.15, 0.55, 0.15, 0.15])[0]
    return rng.randint(low, high)


def _clone(rng: random.Random, planting_year: int) -> str:
    # Older plots carry the clones recommended when they were planted.
    if planting_year <= 2005:
        return rng.choices(["GT1", "PB 235", "RRIM 600", "PB 255"], weights=[5, 2, 1.5, 1.5])[0]
    if planting_year <= 2010:
        return rng.choices(["PB 260", "GT1", "RRIV 4", "PB 255"], weights=[4.5, 3, 1, 1.5])[0]
    if planting_year <= 2015:
        return rng.choices(["PB 312", "GT1", "RRIV 4", "PB 260", "RRIV 103"], weights=[3, 2.5, 1.5, 1, 2])[0]
    return rng.choice(["RRIV 103", "RRIV 124", "RRIV 209", "PB 312"])


def _density(rng: random.Random, planting_year: int) -> int:
    if planting_year < 2008:
        return rng.choice([476, 555, 571])
    if planting_year <= 2015:
        return rng.choice([555, 571])
    return rng.choice([500, 555])


def _farm_plots(farm: FarmPlan, seed: int, reference_year: int) -> list[PlotPlan]:
    # Separate random streams for the layout and the plot attributes, and none drawn differently
    # by year: only the status depends on the reference year, never a geometry or a station.
    layout_rng = random.Random(f"vuonso-demo:{seed}:layout:{farm.code}")
    rng = random.Random(f"vuonso-demo:{seed}:plots:{farm.code}")
    shapes = farm_plots(farm.site, layout_rng)
    cols = max(shape.col for shape in shapes) + 1
    # Plots of one column were planted in the same campaign, give or take a year.
    column_years = [_planting_year(rng) for _ in range(cols)]
    team_offset = _team_offset(farm)

    plans = []
    for number, shape in enumerate(shapes, start=1):
        drawn_year = column_years[shape.col] + rng.choice([0, 0, 0, -1, 1])
        planting_year = min(reference_year - 1, drawn_year)
        age = reference_year - planting_year
        tapping = age >= OPENING_AGE[farm.land_class]
        density = _density(rng, planting_year)
        hectares = area_ha(shape.geometry)
        survival = rng.uniform(0.82, 0.93) if tapping else rng.uniform(0.92, 0.98)
        elevation = farm.elevation_m + layout_rng.uniform(-25, 25)
        code = f"Lô {number}"
        fields = PlotFields(
            code=code,
            crop="rubber",
            planting_year=planting_year,
            clone=_clone(rng, planting_year),
            tree_count=round(hectares * density * survival),
            tapping_system=TAPPING_SYSTEM if tapping else None,
            status="tapping" if tapping else "immature",
            team_code=f"D{team_offset + shape.col * TEAMS_PER_FARM // cols + 1:02d}",
            attributes={
                "density_per_ha": density,
                "spacing": SPACING_BY_DENSITY[density],
                "land_class": farm.land_class,
                "terrain": farm.site.terrain,
                "elevation_m": round(elevation),
                "planting_method": rng.choice(["polybag", "bare_root_stump"]),
                "opening_year": planting_year + OPENING_AGE[farm.land_class] if tapping else None,
                "demo_seed": seed,
            },
        )
        plans.append(PlotPlan(farm.company_code, farm.code, fields, shape, hectares, elevation))
    return plans


def _stations(farms: tuple[FarmPlan, ...], plots: list[PlotPlan], rng: random.Random) -> list[StationSpec]:
    total = len(plots) * STATIONS_PER_PLOT
    order = list(range(total))
    rng.shuffle(order)
    lorawan = {index: position for position, index in enumerate(sorted(order[:LORAWAN_STATIONS]))}
    senml = set(order[LORAWAN_STATIONS:LORAWAN_STATIONS + SENML_STATIONS])
    networks = {company.code: company.network for company in COMPANIES}
    farms_by_code = {farm.code: farm for farm in farms}

    stations = []
    for index in range(total):
        plot = plots[index // STATIONS_PER_PLOT]
        farm = farms_by_code[plot.farm_code]
        lon, lat = point_inside(farm.site, plot.shape, rng)
        station = StationSpec(
            device_id=f"st-{index + 1:04d}", model=STATION_MODEL, transport="json", lon=lon, lat=lat,
            company_code=plot.company_code, farm_code=plot.farm_code, plot_code=plot.fields.code,
            elevation_m=plot.elevation_m + rng.uniform(-3, 3),
            planting_year=plot.fields.planting_year or 0,
        )
        if index in lorawan:
            model = LORAWAN_MODELS[lorawan[index] % len(LORAWAN_MODELS)]
            prefix = DEV_EUI_PREFIXES[model]
            network = networks[plot.company_code]
            station = replace(station, model=model, transport=network,
                              dev_eui=prefix + f"{index + 1:0{16 - len(prefix)}x}",
                              application=_application(plot.company_code, network))
        elif index in senml:
            station = replace(station, transport="senml")
        stations.append(station)
    return stations


def _application(company_code: str, network: str) -> str:
    if network == "chirpstack":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://vuonso.invalid/demo/{company_code}"))
    return f"doan-{company_code}-cam-bien@{TTS_TENANT}"


def _team_offset(farm: FarmPlan) -> int:
    """Teams are numbered across a company: its first farm has Đội 1-3, the second Đội 4-6."""
    siblings = [other.code for other in FARMS if other.company_code == farm.company_code]
    return siblings.index(farm.code) * TEAMS_PER_FARM


def build_corps(seed: int = 1, reference_year: int | None = None) -> Corps:
    """Build the demo corps for a seed; plot status is by age in `reference_year` (default now)."""
    year = reference_year or current_year()
    teams = tuple(
        TeamPlan(farm.company_code, farm.code, f"D{offset + number:02d}", f"Đội {offset + number}")
        for farm in FARMS
        for offset in [_team_offset(farm)]
        for number in range(1, TEAMS_PER_FARM + 1)
    )
    plots = [plan for farm in FARMS for plan in _farm_plots(farm, seed, year)]
    stations = _stations(FARMS, plots, random.Random(f"vuonso-demo:{seed}:stations"))
    return Corps(seed, year, COMPANIES, FARMS, teams, tuple(plots), tuple(stations))
