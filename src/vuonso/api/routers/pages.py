"""Phone pages: the plot list at / and one plot at /plots/{id} with its latest readings and
7-day charts drawn on the server as inline SVG, so a page is one small HTML file plus app.css."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from vuonso import __version__
from vuonso.api.deps import ConnDep, LanguageDep, SettingsDep
from vuonso.core.errors import NotFoundError
from vuonso.core.i18n import catalog, translate
from vuonso.gis import plots
from vuonso.ingest import queries

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGE_SIZE = 20
CHART_SPAN = timedelta(days=7)
# Metrics charted on the plot page, in this order; a prefix matches every depth of a probe.
CHART_PREFIXES = ("soil_moisture", "air_temperature", "rainfall")
# Metrics whose readings are amounts per report interval, so the chart shows hourly totals.
TOTAL_METRICS = frozenset({"rainfall"})
# Depth suffix of soil metrics, as the metric registry spells it.
_DEPTH_SUFFIX = re.compile(r"^(?P<base>[a-z_]+)_(?P<depth>[1-9][0-9]{0,2})cm$")
# A latest reading older than this is shown as stale. Common station models report every 10
# to 60 minutes (an estimate), so six hours without one points to a fault.
STALE_AFTER = timedelta(hours=6)
# First words of a plot code that already name it a plot ("Lô 1" in the demo corps), so the
# heading shows the code alone instead of "Lô Lô 1".
PLOT_WORDS = frozenset({"lô", "plot"})
# Catalog key of the place name shown for a time zone; other zones show their UTC offset only.
ZONE_NAME_KEYS = {"Asia/Ho_Chi_Minh": "api.page.zone_vietnam", "Asia/Saigon": "api.page.zone_vietnam"}


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True, slots=True)
class LatestRow:
    metric: str
    label: str
    value: str
    unit: str
    age: str
    local_time: str
    device_id: str
    stale: bool


class PageContext:
    """Language, links and formatting shared by every page of one request."""

    def __init__(self, request: Request, language: str, timezone: str) -> None:
        self.request = request
        self.language = language
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        # Links keep an explicit ?lang=; otherwise Accept-Language keeps choosing.
        self.sticky_lang = request.query_params.get("lang") in ("vi", "en")

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.language, **params)

    def link(self, path: str, **query: Any) -> str:
        """Return a same-site link that keeps the page language when it was chosen explicitly."""
        if self.sticky_lang:
            query["lang"] = self.language
        cleaned = {name: value for name, value in query.items() if value is not None}
        return f"{path}?{urlencode(cleaned)}" if cleaned else path

    def switch_link(self) -> str:
        """Return the current page in the other language."""
        other = "en" if self.language == "vi" else "vi"
        query = dict(self.request.query_params)
        query["lang"] = other
        return f"{self.request.url.path}?{urlencode(query)}"

    def number(self, value: float, decimals: int = 1) -> str:
        """Format a number with Vietnamese separators (1.234,5) or English ones (1,234.5)."""
        text = f"{value:,.{decimals}f}"
        if self.language == "vi":
            text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return text

    def clock(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{local:%H:%M} {local.day:02d}/{local.month:02d}"

    def age(self, moment: datetime, now: datetime) -> str:
        seconds = max(0.0, (now - moment).total_seconds())
        if seconds < 60:
            return self.t("api.page.age_just_now")
        if seconds < 3600:
            return self.t("api.page.age_minutes", count=int(seconds // 60))
        if seconds < 48 * 3600:
            return self.t("api.page.age_hours", count=int(seconds // 3600))
        return self.t("api.page.age_days", count=int(seconds // 86_400))

    def plot_heading(self, code: str) -> str:
        """Return the page heading of a plot: the code alone when it starts with a word in
        PLOT_WORDS, else the code after the catalog's word for plot."""
        words = code.split(maxsplit=1)
        if words and words[0].casefold() in PLOT_WORDS:
            return code
        return self.t("api.page.plot_heading", code=code)

    def zone_label(self, moment: datetime) -> str:
        """Return the time zone for readers, such as "giờ Việt Nam (UTC+07:00)", with the UTC
        offset in force at `moment`. The IANA id stays in the page's markup only."""
        offset = moment.astimezone(self.zone).utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        utc_offset = f"UTC{sign}{hours:02d}:{rest:02d}"
        name_key = ZONE_NAME_KEYS.get(self.timezone)
        if name_key is None:
            return self.t("api.page.zone_offset", offset=utc_offset)
        return self.t("api.page.zone_named", name=self.t(name_key), offset=utc_offset)

    def metric_label(self, metric: str) -> str:
        """Catalog label of a metric, with the depth of a soil probe (soil_moisture_20cm); an
        unlisted metric shows its name."""
        labels = catalog(self.language)
        match = _DEPTH_SUFFIX.match(metric)
        if f"api.metric.{metric}" not in labels and match and \
                f"api.metric.{match['base']}" in labels:
            return self.t("api.page.metric_depth", label=labels[f"api.metric.{match['base']}"],
                          depth=match["depth"])
        return labels.get(f"api.metric.{metric}") or metric.replace("_", " ")

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = _environment().get_template(template).render(
            page=self, t=self.t, version=__version__, **values)
        return HTMLResponse(html, status_code=status_code)


def display_unit(unit: str) -> str:
    """Unit as shown beside a value; the dimensionless unit "1" of counts shows as nothing."""
    return "" if unit == "1" else unit


def decimals_for(unit: str, value: float) -> int:
    """Digits after the decimal point: 2 for volts, 0 for counts and large values, else 1."""
    if unit == "V":
        return 2
    if unit in ("1", ""):
        return 0
    return 0 if abs(value) >= 1000 else 1


@router.get("/", response_class=HTMLResponse)
def plot_list_page(
    request: Request, conn: ConnDep, settings: SettingsDep, language: LanguageDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    page = PageContext(request, language, settings.timezone)
    rows = plots.list_plots(conn, limit=PAGE_SIZE + 1, offset=offset)
    items = [
        {"code": row["code"], "farm": row["farm_code"], "company": row["company_code"],
         "crop": page.t(f"api.crop.{row['crop']}"),
         "area": page.number(float(row["area_ha"]), 2), "href": page.link(f"/plots/{row['id']}")}
        for row in rows[:PAGE_SIZE]
    ]
    previous = page.link("/", offset=max(0, offset - PAGE_SIZE) or None) if offset > 0 else None
    following = page.link("/", offset=offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None
    return page.render("index.html", items=items, first=offset + 1,
                       last=offset + len(items), previous=previous, following=following)


@router.get("/plots/{plot_id}", response_class=HTMLResponse)
def plot_page(request: Request, plot_id: int, conn: ConnDep, settings: SettingsDep,
              language: LanguageDep) -> HTMLResponse:
    page = PageContext(request, language, settings.timezone)
    try:
        plot = plots.get_plot(conn, plot_id)
    except NotFoundError:
        log.info("plot page: plot %s not found", plot_id)
        return page.render("error.html", status_code=404,
                           message=page.t("api.page.plot_not_found", plot_id=plot_id))

    now = datetime.now(page.zone)
    latest = queries.latest_by_metric(conn, plot_id, timezone=settings.timezone)
    charted = [item.metric for item in latest if item.metric.startswith(CHART_PREFIXES)]
    charted.sort(key=lambda name: (_chart_rank(name), name))
    rows = [_latest_row(page, item, now) for item in _chart_order(latest, charted)]
    charts = [_chart(page, conn, plot_id, metric, now) for metric in charted]

    facts = [
        (page.t("api.page.farm"), plot["farm_code"]),
        (page.t("api.page.company"), plot["company_code"]),
        (page.t("api.page.crop"), page.t(f"api.crop.{plot['crop']}")),
        (page.t("api.page.clone"), plot["clone"] or "–"),
        (page.t("api.page.planting_year"), plot["planting_year"] or "–"),
        (page.t("api.page.status"), page.t(f"api.status.{plot['status']}")),
        (page.t("api.page.area"), f"{page.number(float(plot['area_ha']), 2)} ha"),
    ]
    return page.render("plot.html", plot=plot, heading=page.plot_heading(plot["code"]),
                       facts=facts, rows=rows, charts=charts, updated=page.clock(now),
                       zone_label=page.zone_label(now), home=page.link("/"))


def _chart_rank(metric: str) -> int:
    return next(i for i, prefix in enumerate(CHART_PREFIXES) if metric.startswith(prefix))


def _chart_order(latest: list[queries.LatestReading],
                 charted: list[str]) -> list[queries.LatestReading]:
    """Charted metrics first in chart order, then the others by name."""
    by_metric = {item.metric: item for item in latest}
    rest = [item for item in latest if item.metric not in charted]
    return [by_metric[name] for name in charted] + rest


def _latest_row(page: PageContext, item: queries.LatestReading, now: datetime) -> LatestRow:
    return LatestRow(
        metric=item.metric,
        label=page.metric_label(item.metric),
        value=page.number(item.value, decimals_for(item.unit, item.value)),
        unit=display_unit(item.unit),
        age=page.age(item.time, now),
        local_time=page.clock(item.time),
        device_id=item.device_id,
        stale=now - item.time > STALE_AFTER,
    )


def _chart(page: PageContext, conn: psycopg.Connection, plot_id: int, metric: str,
           now: datetime) -> dict[str, Any]:
    """Hourly series of the last 7 days as SVG geometry plus a one-line summary."""
    start = now - CHART_SPAN
    result = queries.series(conn, plot_id, metric, start, now, bucket="1h",
                            timezone=page.timezone)
    points = [point for point in result.points if isinstance(point, queries.BucketPoint)]
    unit = display_unit(result.unit or "")
    label = page.metric_label(metric)
    chart: dict[str, Any] = {"metric": metric, "label": label, "unit": unit, "svg": None,
                             "summary": page.t("api.page.chart_empty")}
    if not points:
        return chart

    def fmt(value: float) -> str:
        return page.number(value, decimals_for(unit, value))

    def with_unit(value: float) -> str:
        # A no-break space keeps the unit on the line of its value.
        return f"{fmt(value)}\u00a0{unit}" if unit else fmt(value)

    axis = TimeAxis(start, now, page.zone)
    if metric in TOTAL_METRICS:
        # Each hourly sum is already the mean over the plot's devices (BucketPoint.sum), so two
        # rain gauges give the plot's rainfall, not twice it.
        total = sum(point.sum for point in points)
        chart["svg"] = bar_chart(axis, points, fmt)
        chart["summary"] = page.t("api.page.chart_total", total=with_unit(total))
        chart["description"] = page.t("api.page.chart_bars_description", metric=label, unit=unit)
    else:
        low = min(point.min for point in points)
        high = max(point.max for point in points)
        chart["svg"] = band_chart(axis, points, fmt)
        chart["summary"] = page.t("api.page.chart_range", low=with_unit(low),
                                  high=with_unit(high), last=with_unit(points[-1].avg))
        chart["description"] = page.t("api.page.chart_band_description", metric=label, unit=unit)
    return chart


# Chart geometry in SVG user units; the SVG scales to the screen width (about 1 unit per pixel
# on a 360 px phone).
WIDTH, HEIGHT = 340, 150
LEFT, RIGHT, TOP, BOTTOM = 42, 6, 8, 18
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BUCKET = timedelta(hours=1)


def _n(value: float) -> str:
    """Return a coordinate with at most one decimal, which keeps the SVG small."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


class TimeAxis:
    """Maps times in [start, end] to x and places a tick at each local midnight."""

    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo) -> None:
        self.start, self.end, self.zone = start, end, zone
        self.span = (end - start).total_seconds()

    def x(self, moment: datetime) -> float:
        fraction = (moment - self.start).total_seconds() / self.span
        return LEFT + min(1.0, max(0.0, fraction)) * PLOT_WIDTH

    def midnights(self) -> list[tuple[float, str]]:
        ticks = []
        day = self.start.astimezone(self.zone).date() + timedelta(days=1)
        while (moment := datetime(day.year, day.month, day.day, tzinfo=self.zone)) <= self.end:
            ticks.append((self.x(moment), f"{day.day:02d}/{day.month:02d}"))
            day += timedelta(days=1)
        return ticks


def _segments(points: list[queries.BucketPoint]) -> list[list[queries.BucketPoint]]:
    """Split hourly buckets where an hour or more has no reading, so the line shows the gap."""
    segments: list[list[queries.BucketPoint]] = []
    for point in points:
        if segments and point.time - segments[-1][-1].time <= BUCKET * 1.5:
            segments[-1].append(point)
        else:
            segments.append([point])
    return segments


def _frame(axis: TimeAxis, low: float, high: float,
           fmt: Any) -> tuple[dict[str, Any], Any]:
    """Common parts of a chart: grid, axis labels and the value-to-y function."""
    if high - low < 1e-9:
        low, high = low - 1, high + 1

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * PLOT_HEIGHT

    levels = [high, (low + high) / 2, low]
    ticks = axis.midnights()
    grid = "".join(f"M{LEFT} {_n(y(v))}h{PLOT_WIDTH}" for v in levels)
    grid += "".join(f"M{_n(x)} {TOP}v{PLOT_HEIGHT}" for x, _ in ticks)
    svg = {
        "width": WIDTH, "height": HEIGHT, "grid": grid,
        "y_labels": [(_n(y(v) + 3), fmt(v)) for v in levels], "label_x": LEFT - 4,
        # A date label centred near either end of the plot area would be cut by the SVG edge.
        "x_labels": [(_n(x), text) for x, text in ticks if LEFT + 14 <= x <= WIDTH - 14],
        "label_y": HEIGHT - 5,
    }
    return svg, y


def band_chart(axis: TimeAxis, points: list[queries.BucketPoint], fmt: Any) -> dict[str, Any]:
    """Hourly mean as a line over a min-max band, padded by 5 % of the range."""
    low = min(point.min for point in points)
    high = max(point.max for point in points)
    pad = (high - low) * 0.05
    svg, y = _frame(axis, low - pad, high + pad, fmt)
    line, band = [], []
    for segment in _segments(points):
        xs = [_n(axis.x(point.time + BUCKET / 2)) for point in segment]
        line.append("M" + "L".join(f"{x} {_n(y(p.avg))}" for x, p in zip(xs, segment, strict=True)))
        upper = [f"{x} {_n(y(p.max))}" for x, p in zip(xs, segment, strict=True)]
        lower = [f"{x} {_n(y(p.min))}" for x, p in zip(xs, segment, strict=True)]
        band.append("M" + "L".join(upper + lower[::-1]) + "Z")
    svg.update(line="".join(line), band="".join(band), bars=None)
    return svg


def bar_chart(axis: TimeAxis, points: list[queries.BucketPoint], fmt: Any) -> dict[str, Any]:
    """Hourly totals as bars from zero."""
    high = max(point.sum for point in points)
    svg, y = _frame(axis, 0.0, high if high > 0 else 1.0, fmt)
    width = max(0.8, PLOT_WIDTH * BUCKET.total_seconds() / axis.span - 0.4)
    base = y(0.0)
    bars = "".join(
        f"M{_n(axis.x(point.time))} {_n(base)}v{_n(y(point.sum) - base)}h{_n(width)}"
        f"v{_n(base - y(point.sum))}z"
        for point in points if point.sum > 0
    )
    svg.update(line=None, band=None, bars=bars)
    return svg
