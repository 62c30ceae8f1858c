"""Parse and validate the query parameters of OGC API - Features requests.

Policy, per OGC API - Features Part 1 1.0:
- an unknown parameter name is rejected (400), and so is a parameter given twice;
- `limit` outside 1..10000 is rejected, never clamped, as the API definition declares that range;
- `bbox` is 4 numbers in CRS84, or 6 with heights (the heights are checked, then ignored because
  every geometry here is 2-D); a box crossing the antimeridian (min lon > max lon) is rejected;
- `datetime` is an RFC 3339 date-time with a UTC offset, or an interval `start/end`. An open
  end is `..` or an empty string, and `../..` is rejected.
Every problem of a request is reported at once, each with a message in the request's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from vuonso.core.i18n import LANGUAGES, translate
from vuonso.gis.ogc.errors import ParameterInvalid
from vuonso.gis.ogc.model import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BBox,
    CollectionInfo,
    FilterParam,
    Interval,
    ItemsQuery,
)

Format = Literal["json", "html"]
FORMATS: tuple[Format, ...] = ("json", "html")
COMMON_PARAMETERS = ("f", "lang")
ITEMS_PARAMETERS = ("bbox", "limit", "offset")
MAX_OFFSET = 1_000_000_000
MAX_FILTER_LENGTH = 100

# RFC 3339 date-time. The offset group is optional here only so that a missing offset gets its
# own message. A space before HH:MM is a '+' that URL form decoding turned into a space.
_DATE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2}| \d{2}:\d{2})?$"
)
_OPEN_END = ("..", "")


@dataclass(frozen=True, slots=True)
class Options:
    """The `f` and `lang` parameters of any request (None when absent) and any extra parameters
    that the caller declared."""

    format: Format | None
    language: str | None
    extra: Mapping[str, str] = field(default_factory=dict)


class _Rejected(Exception):
    """One parameter's problem, named by a catalog key with its parameters."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def parse_bbox(text: str) -> BBox:
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise _Rejected("gis.ogc.bbox_count", count=len(parts))
    numbers = []
    for part in parts:
        try:
            number = float(part)
        except ValueError:
            raise _Rejected("gis.ogc.bbox_number", value=part) from None
        if not math.isfinite(number):
            raise _Rejected("gis.ogc.bbox_number", value=part)
        numbers.append(number)
    if len(numbers) == 6:
        if numbers[2] > numbers[5]:
            raise _Rejected("gis.ogc.bbox_height_order", min=numbers[2], max=numbers[5])
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    min_lon, min_lat, max_lon, max_lat = numbers
    for lon in (min_lon, max_lon):
        if not -180.0 <= lon <= 180.0:
            raise _Rejected("gis.ogc.bbox_lon_range", value=lon)
    for lat in (min_lat, max_lat):
        if not -90.0 <= lat <= 90.0:
            raise _Rejected("gis.ogc.bbox_lat_range", value=lat)
    if min_lat > max_lat:
        raise _Rejected("gis.ogc.bbox_lat_order", min=min_lat, max=max_lat)
    if min_lon > max_lon:
        raise _Rejected("gis.ogc.bbox_antimeridian", min=min_lon, max=max_lon)
    return BBox(min_lon, min_lat, max_lon, max_lat)


def parse_date_time(text: str) -> datetime:
    """Parse one RFC 3339 date-time; a value without a UTC offset is rejected."""
    match = _DATE_TIME.match(text)
    if match is None:
        raise _Rejected("gis.ogc.datetime_invalid", value=text)
    day, clock, fraction, offset = match.groups()
    if offset is None:
        raise _Rejected("gis.ogc.datetime_offset_missing", value=text)
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif offset.startswith(" "):
        offset = "+" + offset[1:]
    micro = f".{fraction[:6]:0<6}" if fraction else ""
    try:
        return datetime.fromisoformat(f"{day}T{clock}{micro}{offset}")
    except ValueError:
        raise _Rejected("gis.ogc.datetime_invalid", value=text) from None


def parse_interval(text: str) -> Interval:
    """Parse `datetime`: an instant, or `start/end` with `..` (or nothing) for an open end."""
    if "/" not in text:
        instant = parse_date_time(text)
        return Interval(instant, instant)
    parts = text.split("/")
    if len(parts) != 2:
        raise _Rejected("gis.ogc.datetime_invalid", value=text)
    start_text, end_text = parts
    start = None if start_text in _OPEN_END else parse_date_time(start_text)
    end = None if end_text in _OPEN_END else parse_date_time(end_text)
    if start is None and end is None:
        raise _Rejected("gis.ogc.datetime_unbounded", value=text)
    if start is not None and end is not None and start > end:
        raise _Rejected("gis.ogc.datetime_order", start=start_text, end=end_text)
    return Interval(start, end)


def parse_limit(text: str, maximum: int = MAX_LIMIT) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        raise _Rejected("gis.ogc.limit_invalid", value=text, max=maximum)
    return int(text)


def parse_offset(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_OFFSET:
        raise _Rejected("gis.ogc.offset_invalid", value=text, max=MAX_OFFSET)
    return int(text)


def parse_format(text: str) -> Format:
    for known in FORMATS:
        if text == known:
            return known
    raise _Rejected("gis.ogc.format_invalid", value=text, formats=", ".join(FORMATS))


def parse_language(text: str) -> str:
    if text not in LANGUAGES:
        raise _Rejected("gis.ogc.language_invalid", value=text, languages=", ".join(LANGUAGES))
    return text


def parse_filter(param: FilterParam, text: str) -> str:
    if not text or len(text) > MAX_FILTER_LENGTH:
        raise _Rejected("gis.ogc.filter_length", parameter=param.name, max=MAX_FILTER_LENGTH)
    if param.type == "integer" and not (text.isascii() and text.isdigit()):
        raise _Rejected("gis.ogc.filter_integer", parameter=param.name, value=text)
    if param.values and text not in param.values:
        raise _Rejected("gis.ogc.filter_value", parameter=param.name, value=text,
                        values=", ".join(param.values))
    return text


class _Problems:
    """Collects rejected parameters and raises them together as one ParameterInvalid."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.found: list[tuple[str, str | None, _Rejected]] = []

    def add(self, parameter: str, value: str | None, rejected: _Rejected) -> None:
        self.found.append((parameter, value, rejected))

    def raise_any(self) -> None:
        if not self.found:
            return
        problems = [
            {"parameter": name, "value": value,
             "message": translate(rejected.key, self.language, **rejected.params)}
            for name, value, rejected in self.found
        ]
        english = " ".join(translate(rejected.key, "en", **rejected.params)
                            for _name, _value, rejected in self.found)
        if len(self.found) == 1:
            only = self.found[0][2]
            raise ParameterInvalid(english, problems=problems, key=only.key, **only.params)
        names = ", ".join(dict.fromkeys(name for name, _value, _rejected in self.found))
        raise ParameterInvalid(english, problems=problems, key="gis.ogc.parameters_invalid",
                               count=len(self.found), parameters=names)


def _single_values(pairs: Sequence[tuple[str, str]], allowed: Collection[str],
                   problems: _Problems) -> dict[str, str]:
    """Reject unknown and repeated names; return the remaining parameters by name."""
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    values: dict[str, str] = {}
    for name, texts in given.items():
        if name not in allowed:
            problems.add(name, texts[0], _Rejected("gis.ogc.param_unknown", parameter=name,
                                                   allowed=", ".join(allowed)))
        elif len(texts) > 1:
            problems.add(name, texts[0], _Rejected("gis.ogc.param_repeated", parameter=name,
                                                   count=len(texts)))
        else:
            values[name] = texts[0]
    return values


def _options(values: dict[str, str], problems: _Problems) -> Options:
    chosen_format: Format | None = None
    language: str | None = None
    if "f" in values:
        try:
            chosen_format = parse_format(values["f"])
        except _Rejected as rejected:
            problems.add("f", values["f"], rejected)
    if "lang" in values:
        try:
            language = parse_language(values["lang"])
        except _Rejected as rejected:
            problems.add("lang", values["lang"], rejected)
    return Options(chosen_format, language)


def parse_options(pairs: Sequence[tuple[str, str]], language: str) -> Options:
    """Validate a request that takes only `f` and `lang`; raise ParameterInvalid otherwise."""
    problems = _Problems(language)
    values = _single_values(pairs, COMMON_PARAMETERS, problems)
    options = _options(values, problems)
    problems.language = options.language or language
    problems.raise_any()
    return options


def items_parameters(info: CollectionInfo) -> tuple[str, ...]:
    """Return the query parameter names that the items of a collection accept."""
    names = [*COMMON_PARAMETERS, *ITEMS_PARAMETERS]
    if info.temporal:
        names.append("datetime")
    names.extend(param.name for param in info.filters)
    return tuple(names)


def _parse_declared(params: Sequence[FilterParam], values: dict[str, str],
                    problems: _Problems) -> dict[str, str]:
    """Validate declared parameters: required ones must be present, each value must fit."""
    parsed: dict[str, str] = {}
    for param in params:
        if param.name not in values:
            if param.required:
                problems.add(param.name, None, _Rejected("gis.ogc.param_missing",
                                                         parameter=param.name))
            continue
        try:
            parsed[param.name] = parse_filter(param, values[param.name])
        except _Rejected as rejected:
            problems.add(param.name, values[param.name], rejected)
    return parsed


def parse_items_query(pairs: Sequence[tuple[str, str]], info: CollectionInfo, language: str,
                      *, extra: Sequence[FilterParam] = (), max_limit: int = MAX_LIMIT,
                      default_limit: int = DEFAULT_LIMIT) -> tuple[ItemsQuery, Options]:
    """Validate the parameters of an items request; raise ParameterInvalid listing each problem.

    `extra` declares parameters beyond the collection's own, returned in `Options.extra`.
    """
    problems = _Problems(language)
    allowed = items_parameters(info) + tuple(param.name for param in extra)
    values = _single_values(pairs, allowed, problems)
    options = _options(values, problems)
    # Messages follow a valid `lang` of the same request.
    problems.language = options.language or language

    parsers: dict[str, Callable[[str], Any]] = {
        "limit": lambda text: parse_limit(text, max_limit),
        "offset": parse_offset,
        "bbox": parse_bbox,
        "datetime": parse_interval,
    }
    parsed: dict[str, Any] = {}
    for name, parser in parsers.items():
        if name in values:
            try:
                parsed[name] = parser(values[name])
            except _Rejected as rejected:
                problems.add(name, values[name], rejected)
    filters = _parse_declared(info.filters, values, problems)
    extras = _parse_declared(extra, values, problems)
    problems.raise_any()

    query = ItemsQuery(limit=parsed.get("limit", default_limit), offset=parsed.get("offset", 0),
                       bbox=parsed.get("bbox"), interval=parsed.get("datetime"), filters=filters)
    return query, replace(options, extra=extras)
