"""Live GPS fixes from phones and trackers: payload parsing, quality flags and storage.

A payload is JSON: one fix object, an array of fix objects, or a batch object
`{"device": ..., "worker": ..., "fixes": [...]}` (docs/gps.md has the full format). Over MQTT the
device id is the last level of the topic `vuonso/fixes/{device_id}`; over HTTP it is in the body.
An invalid payload is rejected whole with FixInvalid listing every problem. Valid but poor fixes
are stored with flags instead of being dropped, and a repeated (device, time) is stored once.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from vuonso.gis.area import WGS84
from vuonso.gis.errors import GisError
from vuonso.gis.plots import workspace_id

log = logging.getLogger(__name__)

# A fix whose accuracy radius (68 % confidence, as phones report it) is larger is flagged.
POOR_ACCURACY_M = 30.0
# Faster than this between two fixes, beyond their accuracy radii, is a position jump, not travel
# (180 km/h; workers walk or ride motorbikes).
MAX_SPEED_MPS = 50.0
# A fix time further than this ahead of the server clock is flagged as a clock error.
MAX_FUTURE_S = 600.0
MAX_FIXES_PER_PAYLOAD = 20_000
# Flags that make a fix unfit for visits and speed checks. duplicate_time only marks a conflict.
QUALITY_FLAGS = ("poor_accuracy", "implausible_speed", "future_time")
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
WORKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$")
FIX_KEYS = frozenset({"time", "lat", "lon", "accuracy_m", "speed_mps", "elevation_m"})
BATCH_KEYS = frozenset({"device", "worker", "fixes"})
# Unix times above this are taken for milliseconds sent by mistake (it is the year 5138 in seconds).
_MAX_UNIX_SECONDS = 1e11
_MAX_REPORTED_PROBLEMS = 50


class FixInvalid(GisError):
    """A fix payload that cannot be parsed. `problems` lists each bad fix and field."""

    code = "fix_invalid"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position of one device at one instant, with `time` in UTC and distances in metres."""

    device: str
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    elevation_m: float | None = None
    worker: str | None = None


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Fixes newly stored, repeats of a stored (device, time), and new fixes stored with a flag."""

    inserted: int
    duplicates: int
    flagged: int


def parse_fix_payload(topic: str, payload: bytes) -> list[Fix]:
    """Parse an MQTT fix message whose topic ends in the device id."""
    device = topic.rsplit("/", 1)[-1]
    if not IDENTIFIER.match(device):
        raise FixInvalid(f"topic {topic!r} does not end in a device id; publish to "
                         "vuonso/fixes/{device_id} with letters, digits and . _ : -",
                         key="gis.tracks.fix_topic_invalid", topic=topic)
    return parse_fix_document(_decode_json(payload), device=device)


def parse_fix_document(document: object, *, device: str | None = None) -> list[Fix]:
    """Turn decoded JSON into fixes. A `device` from the topic must match one in the body."""
    problems: list[dict[str, Any]] = []
    if isinstance(document, list):
        header: dict[str, Any] = {}
        items: list[Any] = document
    elif isinstance(document, dict) and "fixes" in document:
        header = document
        _check_keys(document, BATCH_KEYS, None, problems)
        items = document["fixes"] if isinstance(document["fixes"], list) else []
        if not isinstance(document["fixes"], list):
            problems.append(_problem(None, "fixes", "must be an array of fix objects"))
    elif isinstance(document, dict):
        header = {key: document[key] for key in ("device", "worker") if key in document}
        items = [{key: value for key, value in document.items() if key not in header}]
    else:
        raise _invalid([_problem(None, None, "expected a JSON object or array of fixes, got "
                                 f"{type(document).__name__}")])
    if len(items) > MAX_FIXES_PER_PAYLOAD:
        raise _invalid([_problem(None, "fixes", f"has {len(items)} fixes; send at most "
                                 f"{MAX_FIXES_PER_PAYLOAD} per payload")])

    chosen_device = _header_identifier(header, "device", IDENTIFIER, problems)
    worker = _header_identifier(header, "worker", WORKER, problems)
    if device is not None and chosen_device is not None and chosen_device != device:
        problems.append(_problem(None, "device", f"is {chosen_device!r} but the topic names "
                                 f"device {device!r}"))
    chosen_device = device or chosen_device
    if chosen_device is None and not problems:
        problems.append(_problem(None, "device", "is missing; add \"device\" to the body or "
                                 "publish to vuonso/fixes/{device_id}"))

    fixes = []
    for index, item in enumerate(items):
        fix = _parse_fix(item, index, chosen_device or "", worker, problems)
        if fix is not None:
            fixes.append(fix)
    if problems:
        raise _invalid(problems)
    return fixes


def _decode_json(payload: bytes) -> object:
    try:
        return json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _invalid([_problem(None, None, f"payload is not UTF-8 text: {exc}")]) from exc
    except json.JSONDecodeError as exc:
        raise _invalid([_problem(None, None, f"payload is not JSON: {exc.msg} at line "
                                 f"{exc.lineno} column {exc.colno}")]) from exc


def _header_identifier(header: dict[str, Any], key: str, pattern: re.Pattern[str],
                       problems: list[dict[str, Any]]) -> str | None:
    value = header.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        problems.append(_problem(None, key, f"{value!r} is not a valid {key} id: use 1-64 "
                                 "letters, digits and . _ : - (and @ for a worker)"))
        return None
    return value


def _parse_fix(item: object, index: int, device: str, worker: str | None,
               problems: list[dict[str, Any]]) -> Fix | None:
    if not isinstance(item, dict):
        problems.append(_problem(index, None, f"must be a JSON object, got {type(item).__name__}"))
        return None
    before = len(problems)
    _check_keys(item, FIX_KEYS, index, problems)
    for key in ("time", "lat", "lon"):
        if key not in item:
            problems.append(_problem(index, key, "is missing"))
    moment = _fix_time(item.get("time"), index, problems) if "time" in item else None
    lat = _number(item, "lat", index, problems, low=-90.0, high=90.0)
    lon = _number(item, "lon", index, problems, low=-180.0, high=180.0)
    accuracy = _number(item, "accuracy_m", index, problems, low=0.0)
    speed = _number(item, "speed_mps", index, problems, low=0.0)
    elevation = _number(item, "elevation_m", index, problems)
    if len(problems) > before or moment is None or lat is None or lon is None:
        return None
    return Fix(device, moment, lat, lon, accuracy, speed, elevation, worker)


def _check_keys(item: dict[str, Any], allowed: frozenset[str], index: int | None,
                problems: list[dict[str, Any]]) -> None:
    for key in sorted(set(item) - allowed):
        problems.append(_problem(index, key, f"is not a known field; use {sorted(allowed)}"))


def _fix_time(value: object, index: int, problems: list[dict[str, Any]]) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value < _MAX_UNIX_SECONDS:
            problems.append(_problem(index, "time", f"{value!r} is not Unix time in seconds "
                                     "(milliseconds must be divided by 1000)"))
            return None
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        problems.append(_problem(index, "time", f"{value!r} is not an ISO 8601 string or a "
                                 "number of Unix seconds"))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        problems.append(_problem(index, "time", f"{value!r} is not an ISO 8601 date and time "
                                 "such as 2025-03-01T06:30:00+07:00"))
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append(_problem(index, "time", f"{value!r} has no UTC offset; add Z or an "
                                 "offset such as +07:00"))
        return None
    return moment.astimezone(UTC)


def _number(item: dict[str, Any], key: str, index: int, problems: list[dict[str, Any]], *,
            low: float = -math.inf, high: float = math.inf) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(_problem(index, key, f"{value!r} is not a number"))
        return None
    if not low <= value <= high:
        problems.append(_problem(index, key, f"{value!r} is out of range {low:g}..{high:g}"))
        return None
    return float(value)


def _problem(index: int | None, field: str | None, message: str) -> dict[str, Any]:
    location = "fixes" if index is None else f"fixes[{index}]"
    if field:
        location = f"{location}.{field}" if index is not None else field
    return {"location": location, "message": f"{location} {message}" if field else message}


def _invalid(problems: list[dict[str, Any]]) -> FixInvalid:
    reported = problems[:_MAX_REPORTED_PROBLEMS]
    return FixInvalid(f"invalid fix payload: {reported[0]['message']}"
                      + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""),
                      problems=reported, key="gis.tracks.fix_invalid", count=len(problems))


def assign_device(conn: psycopg.Connection, device_id: str, worker: str | None, *,
                  workspace: str = "production", name: str | None = None) -> None:
    """Register a GPS device or hand it to another worker, whom later fixes then carry."""
    if not IDENTIFIER.match(device_id):
        raise FixInvalid(f"device id {device_id!r} is invalid; use 1-64 letters, digits and "
                         ". _ : -", key="gis.tracks.device_invalid", device=device_id)
    if worker is not None and not WORKER.match(worker):
        raise FixInvalid(f"worker id {worker!r} is invalid; use 1-64 letters, digits and "
                         ". _ : @ -", key="gis.tracks.worker_invalid", worker=worker)
    conn.execute(
        "INSERT INTO gis.gps_devices (device_id, workspace_id, worker, name, assigned_at)"
        " VALUES (%s, %s, %s, %s, now())"
        " ON CONFLICT (device_id) DO UPDATE SET worker = EXCLUDED.worker,"
        " workspace_id = EXCLUDED.workspace_id, name = coalesce(EXCLUDED.name, gis.gps_devices.name),"
        " assigned_at = now()",
        (device_id, workspace_id(conn, workspace), worker, name),
    )


def store_fixes(conn: psycopg.Connection, fixes: Sequence[Fix], *, channel: str = "mqtt",
                now: datetime | None = None) -> StoreResult:
    """Flag and insert fixes in one transaction (a savepoint inside the caller's).

    Unknown devices are registered in the production workspace without a worker. A fix that
    repeats a stored or earlier (device, time) counts as a duplicate. When its position differs,
    the stored fix keeps its first position and gets the duplicate_time flag.
    """
    if channel not in ("mqtt", "http"):
        raise ValueError(f"channel must be 'mqtt' or 'http', got {channel!r}")
    clock = now or datetime.now(UTC)
    by_device: dict[str, list[Fix]] = defaultdict(list)
    for fix in fixes:
        by_device[fix.device].append(fix)

    inserted = duplicates = flagged = 0
    with conn.transaction():
        workers = _ensure_devices(conn, sorted(by_device))
        for device, batch in by_device.items():
            unique, conflicting, repeated = _deduplicate(batch)
            rows = [(replace(fix, worker=fix.worker or workers.get(device)), flags)
                    for fix, flags in _flag(conn, device, unique, conflicting, clock)
                    if flags is not None]
            added = _insert(conn, rows, channel)
            inserted += len(added)
            flagged += sum(1 for has_flags in added if has_flags)
            duplicates += repeated + len(unique) - len(added)
    if duplicates:
        log.info("skipped %d repeated fixes (same device and time) of %d", duplicates, len(fixes))
    return StoreResult(inserted, duplicates, flagged)


def _ensure_devices(conn: psycopg.Connection, devices: list[str]) -> dict[str, str | None]:
    """Register unknown devices and return the current worker of each device."""
    rows = conn.execute(
        "INSERT INTO gis.gps_devices (device_id, workspace_id)"
        " SELECT unnest(%s::text[]), (SELECT id FROM core.workspaces WHERE code = 'production')"
        " ON CONFLICT (device_id) DO NOTHING RETURNING device_id",
        (devices,),
    ).fetchall()
    if rows:
        log.info("registered new GPS devices without a worker: %s", ", ".join(r[0] for r in rows))
    found = conn.execute(
        "SELECT device_id, worker FROM gis.gps_devices WHERE device_id = ANY(%s)", (devices,),
    ).fetchall()
    return {device: worker for device, worker in found}


def _deduplicate(batch: list[Fix]) -> tuple[list[Fix], set[datetime], int]:
    """Keep the first fix per time. Return those sorted, the conflicting times and the repeats."""
    first: dict[datetime, Fix] = {}
    conflicting: set[datetime] = set()
    repeated = 0
    for fix in batch:
        earlier = first.setdefault(fix.time, fix)
        if earlier is not fix:
            repeated += 1
            if (earlier.lat, earlier.lon) != (fix.lat, fix.lon):
                conflicting.add(fix.time)
    return sorted(first.values(), key=lambda f: f.time), conflicting, repeated


def _flag(conn: psycopg.Connection, device: str, fixes: list[Fix], conflicting: set[datetime],
          clock: datetime) -> list[tuple[Fix, list[str] | None]]:
    """Flag each fix against its predecessor in time, stored or new. None marks a stored time.

    NOTE: stored fixes after a late-arriving one are not checked again against it.
    """
    if not fixes:
        return []
    stored = conn.execute(
        "SELECT time, ST_Y(position), ST_X(position), accuracy_m,"
        " NOT (flags && %(quality)s::text[]) FROM gis.fixes"
        " WHERE device_id = %(device)s AND time BETWEEN %(start)s AND %(end)s"
        " UNION ALL (SELECT time, ST_Y(position), ST_X(position), accuracy_m, true"
        "  FROM gis.fixes WHERE device_id = %(device)s AND time < %(start)s"
        "  AND NOT (flags && %(quality)s::text[]) ORDER BY time DESC LIMIT 1)",
        {"device": device, "start": fixes[0].time, "end": fixes[-1].time,
         "quality": list(QUALITY_FLAGS)},
    ).fetchall()
    stored_at = {row[0]: row for row in stored}
    _mark_stored_conflicts(conn, device, [
        fix for fix in fixes if fix.time in stored_at
        and (stored_at[fix.time][1:3] != (fix.lat, fix.lon) or fix.time in conflicting)
    ])

    # Walk stored and new fixes in time order; only good fixes become the reference.
    timeline = sorted([(row[0], row) for row in stored if row[4]]
                      + [(fix.time, fix) for fix in fixes if fix.time not in stored_at],
                      key=lambda entry: entry[0])
    reference: tuple[datetime, float, float, float | None] | None = None
    flags_of: dict[datetime, list[str]] = {}
    for moment, entry in timeline:
        if not isinstance(entry, Fix):
            reference = (moment, entry[1], entry[2], entry[3])
            continue
        flags = []
        if entry.accuracy_m is not None and entry.accuracy_m > POOR_ACCURACY_M:
            flags.append("poor_accuracy")
        if entry.time > clock + timedelta(seconds=MAX_FUTURE_S):
            flags.append("future_time")
        if _too_fast(entry, reference):
            flags.append("implausible_speed")
        if entry.time in conflicting:
            flags.append("duplicate_time")
        flags_of[moment] = flags
        if not set(flags) & set(QUALITY_FLAGS):
            reference = (moment, entry.lat, entry.lon, entry.accuracy_m)
    return [(fix, flags_of.get(fix.time)) for fix in fixes]


def _too_fast(fix: Fix, reference: tuple[datetime, float, float, float | None] | None) -> bool:
    if fix.speed_mps is not None and fix.speed_mps > MAX_SPEED_MPS:
        return True
    if reference is None:
        return False
    moment, lat, lon, accuracy = reference
    seconds = abs((fix.time - moment).total_seconds())
    distance = float(WGS84.inv(lon, lat, fix.lon, fix.lat)[2])
    slack = (accuracy or 0.0) + (fix.accuracy_m or 0.0)
    return max(distance - slack, 0.0) > MAX_SPEED_MPS * seconds


def _mark_stored_conflicts(conn: psycopg.Connection, device: str, fixes: list[Fix]) -> None:
    if not fixes:
        return
    conn.execute(
        "UPDATE gis.fixes SET flags = array_append(flags, 'duplicate_time')"
        " WHERE device_id = %s AND time = ANY(%s) AND NOT 'duplicate_time' = ANY(flags)",
        (device, [fix.time for fix in fixes]),
    )
    log.warning("device %s repeated %d stored fix times with a different position; the first "
                "positions are kept and flagged duplicate_time", device, len(fixes))


def _insert(conn: psycopg.Connection, rows: list[tuple[Fix, list[str]]], channel: str) -> list[bool]:
    """Insert rows, skipping keys stored meanwhile, and return whether each new row has flags."""
    if not rows:
        return []
    columns: list[list[Any]] = [[] for _ in range(9)]
    for fix, flags in rows:
        values = (fix.device, fix.time, fix.worker, fix.lon, fix.lat, fix.accuracy_m,
                  fix.speed_mps, fix.elevation_m, ",".join(flags))
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    added = conn.execute(
        "INSERT INTO gis.fixes (device_id, time, worker, position, accuracy_m, speed_mps,"
        " elevation_m, flags, channel)"
        " SELECT d, t, w, ST_SetSRID(ST_MakePoint(x, y), 4326), a, s, e, string_to_array(f, ','),"
        " %s FROM unnest(%s::text[], %s::timestamptz[], %s::text[], %s::float8[], %s::float8[],"
        " %s::float8[], %s::float8[], %s::float8[], %s::text[]) AS u(d, t, w, x, y, a, s, e, f)"
        " ON CONFLICT (device_id, time) DO NOTHING RETURNING cardinality(flags) > 0",
        (channel, *columns),
    ).fetchall()
    return [bool(row[0]) for row in added]
