"""GPX 1.0 and 1.1 reader: tracks, segments, routes and waypoints, with geodesic lengths.

The reader is built on expat so that every error can name its line. It keeps each track segment
on its own, so a gap between segments is never bridged. Every time is converted to UTC, and a
time without an offset is read as UTC because the GPX schema defines it so. Fractions of a
second beyond six digits are truncated to microseconds. `<extensions>` and elements of other
namespaces are skipped. A document type declaration is rejected, because GPX never needs one and
entities can expand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.parsers import expat

from vuonso.gis.area import WGS84
from vuonso.gis.errors import ImportFailed

GPX_NAMESPACES = {
    "http://www.topografix.com/GPX/1/0": "1.0",
    "http://www.topografix.com/GPX/1/1": "1.1",
}
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)


class GpxInvalid(ImportFailed):
    """A GPX file that is not XML, not GPX, or has an invalid value. The message names the line."""

    code = "gpx_invalid"

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}", key="gis.tracks.gpx_invalid",
                         source=source, line=line if line is not None else "?", reason=message)
        self.line = line


@dataclass(frozen=True, slots=True)
class GpxPoint:
    """A track, route or waypoint position, with `time` in UTC or None and its source `line`."""

    lat: float
    lon: float
    time: datetime | None = None
    elevation_m: float | None = None
    hdop: float | None = None
    speed_mps: float | None = None
    name: str | None = None
    line: int = 0


@dataclass(slots=True)
class GpxTrack:
    name: str | None
    segments: list[list[GpxPoint]] = field(default_factory=list)


@dataclass(slots=True)
class GpxRoute:
    name: str | None
    points: list[GpxPoint] = field(default_factory=list)


@dataclass(slots=True)
class GpxDocument:
    version: str | None
    creator: str | None
    tracks: list[GpxTrack] = field(default_factory=list)
    routes: list[GpxRoute] = field(default_factory=list)
    waypoints: list[GpxPoint] = field(default_factory=list)


@dataclass(slots=True)
class _Node:
    local: str
    attrib: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def child(self, local: str) -> _Node | None:
        return next((c for c in self.children if c.local == local), None)

    def content(self) -> str:
        return "".join(self.text).strip()


def parse_gpx(data: bytes | str, *, source: str = "GPX") -> GpxDocument:
    """Parse a GPX document, raising GpxInvalid with the line of the first problem found."""
    root = _read_tree(data.encode("utf-8") if isinstance(data, str) else data, source)
    reader = _Reader(source)
    document = GpxDocument(version=root.attrib.get("version"), creator=root.attrib.get("creator"))
    for node in root.children:
        if node.local == "trk":
            track = GpxTrack(name=reader.text(node, "name"))
            for segment in node.children:
                if segment.local == "trkseg":
                    track.segments.append(
                        [reader.point(p) for p in segment.children if p.local == "trkpt"])
            document.tracks.append(track)
        elif node.local == "rte":
            document.routes.append(GpxRoute(
                name=reader.text(node, "name"),
                points=[reader.point(p) for p in node.children if p.local == "rtept"]))
        elif node.local == "wpt":
            document.waypoints.append(reader.point(node))
    return document


def parse_gpx_time(text: str) -> datetime:
    """Parse an xsd:dateTime as found in GPX into an aware UTC datetime. No offset means UTC.

    Raises ValueError with the offending text when it is not a date and time.
    """
    match = _TIME.match(text.strip())
    if match is None:
        raise ValueError(f"time {text!r} is not an ISO 8601 date and time such as "
                         "2024-05-01T06:30:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        offset = UTC if zone in (None, "Z") else _offset(zone)
        moment = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=offset)
    except ValueError as exc:
        raise ValueError(f"time {text!r} is not a valid date and time: {exc}") from exc
    return moment.astimezone(UTC)


def _offset(zone: str) -> timezone:
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {zone!r} is out of range")
    minutes += hours * 60
    return timezone(timedelta(minutes=-minutes if zone[0] == "-" else minutes))


def segment_length_m(points: list[GpxPoint]) -> float:
    """Geodesic length on WGS 84 of a polyline through the points, in metres (elevation ignored)."""
    if len(points) < 2:
        return 0.0
    return float(WGS84.line_length([p.lon for p in points], [p.lat for p in points]))


def summarize(document: GpxDocument) -> dict[str, Any]:
    """Summarise tracks (and, separately, routes) for `vuonso gis gpx-summary`.

    Each track reports its segment and point counts, its length summed within segments only, and
    the earliest and latest point times in UTC ISO 8601 (null when no point has a time). Routes are
    planned paths, not walks, so they are listed apart under "routes" with their own length.
    """
    tracks = []
    for track in document.tracks:
        times = [p.time for segment in track.segments for p in segment if p.time is not None]
        tracks.append({
            "name": track.name,
            "segments": len(track.segments),
            "points": sum(len(segment) for segment in track.segments),
            "length_m": round(sum(segment_length_m(s) for s in track.segments), 3),
            "start": _iso(min(times)) if times else None,
            "end": _iso(max(times)) if times else None,
        })
    routes = [
        {"name": route.name, "points": len(route.points),
         "length_m": round(segment_length_m(route.points), 3)}
        for route in document.routes
    ]
    return {"tracks": tracks, "routes": routes}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Reader:
    """Converts tree nodes into points, raising GpxInvalid with the node's line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def text(self, node: _Node, local: str) -> str | None:
        child = node.child(local)
        return (child.content() or None) if child is not None else None

    def point(self, node: _Node) -> GpxPoint:
        lat = self._coordinate(node, "lat", 90.0)
        lon = self._coordinate(node, "lon", 180.0)
        time_node = node.child("time")
        moment = None
        if time_node is not None and time_node.content():
            try:
                moment = parse_gpx_time(time_node.content())
            except ValueError as exc:
                raise GpxInvalid(f"<{node.local}> has an invalid <time>: {exc}",
                                 source=self.source, line=time_node.line) from exc
        return GpxPoint(lat=lat, lon=lon, time=moment,
                        elevation_m=self._number(node, "ele"), hdop=self._number(node, "hdop"),
                        speed_mps=self._number(node, "speed"), name=self.text(node, "name"),
                        line=node.line)

    def _coordinate(self, node: _Node, name: str, limit: float) -> float:
        raw = node.attrib.get(name)
        if raw is None:
            raise GpxInvalid(f"<{node.local}> has no {name} attribute", source=self.source,
                             line=node.line)
        value = _finite(raw)
        if value is None or not -limit <= value <= limit:
            raise GpxInvalid(f"<{node.local}> {name}={raw!r} is not a number between "
                             f"{-limit:g} and {limit:g}", source=self.source, line=node.line)
        return value

    def _number(self, node: _Node, local: str) -> float | None:
        child = node.child(local)
        if child is None or not child.content():
            return None
        value = _finite(child.content())
        if value is None:
            raise GpxInvalid(f"<{local}> of <{node.local}> is {child.content()!r}, not a number",
                             source=self.source, line=child.line)
        return value


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _read_tree(data: bytes, source: str) -> _Node:
    """Build a light tree of GPX-namespace elements with line numbers, skipping extensions."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Node] = []
    state: dict[str, Any] = {"root": None, "namespace": None, "skip": 0}

    def start(name: str, attrib: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        line = parser.CurrentLineNumber
        if state["root"] is None:
            if local != "gpx" or (namespace and namespace not in GPX_NAMESPACES):
                found = f"{{{namespace}}}{local}" if namespace else local
                raise GpxInvalid(f"the root element is <{found}>, not <gpx> of GPX 1.0 or 1.1",
                                 source=source, line=line)
            node = _Node(local, attrib, line)
            state["root"], state["namespace"] = node, namespace
            stack.append(node)
            return
        if state["skip"] or namespace != state["namespace"] or local == "extensions":
            state["skip"] += 1
            return
        node = _Node(local, attrib, line)
        stack[-1].children.append(node)
        stack.append(node)

    def end(name: str) -> None:
        if state["skip"]:
            state["skip"] -= 1
        else:
            stack.pop()

    def characters(text: str) -> None:
        if not state["skip"] and stack:
            stack[-1].text.append(text)

    def reject_doctype(*_: object) -> None:
        raise GpxInvalid("a document type declaration (DOCTYPE) is not allowed in GPX",
                         source=source, line=parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = reject_doctype
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise GpxInvalid(f"not well-formed XML: {expat.ErrorString(exc.code)} at column "
                         f"{exc.offset + 1}", source=source, line=exc.lineno) from exc
    if state["root"] is None:
        raise GpxInvalid("the file contains no XML element", source=source)
    root: _Node = state["root"]
    return root
