"""Live fixes: payload parsing, quality flags, and storage that never duplicates or drops."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from vuonso.gis.fixes import (
    MAX_FIXES_PER_PAYLOAD,
    Fix,
    FixInvalid,
    assign_device,
    parse_fix_document,
    parse_fix_payload,
    store_fixes,
)

TOPIC = "vuonso/fixes/phone-017"
T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)


def _payload(document: Any) -> bytes:
    return json.dumps(document).encode()


def _fix(seconds: float, lat: float = 11.5400, lon: float = 106.8900, *,
         device: str = "phone-017", accuracy_m: float | None = 5.0,
         speed_mps: float | None = None) -> Fix:
    return Fix(device, T0 + timedelta(seconds=seconds), lat, lon, accuracy_m, speed_mps)


def _stored(db: psycopg.Connection) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT device_id, time, worker, ST_Y(position), ST_X(position), accuracy_m, flags,"
        " channel FROM gis.fixes ORDER BY device_id, time"
    ).fetchall()


def test_parse_single_fix_takes_device_from_topic() -> None:
    fixes = parse_fix_payload(TOPIC, _payload(
        {"time": "2025-03-01T07:00:00+07:00", "lat": 11.54, "lon": 106.89, "accuracy_m": 4,
         "speed_mps": 1.2, "elevation_m": 80.5}))
    assert fixes == [Fix("phone-017", T0, 11.54, 106.89, 4.0, 1.2, 80.5, None)]


def test_parse_array_and_batch_forms() -> None:
    items = [{"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2},
             {"time": 1740787210, "lat": 1.0001, "lon": 2}]
    from_array = parse_fix_payload(TOPIC, _payload(items))
    from_batch = parse_fix_document({"device": "phone-017", "worker": "NV-0042", "fixes": items})
    assert [f.time for f in from_array] == [T0, T0 + timedelta(seconds=10)]
    assert [f.device for f in from_batch] == ["phone-017", "phone-017"]
    assert {f.worker for f in from_batch} == {"NV-0042"}
    assert {f.worker for f in from_array} == {None}


def test_parse_empty_batch_returns_nothing() -> None:
    assert parse_fix_payload(TOPIC, b"[]") == []


@pytest.mark.parametrize(("document", "location", "fragment"), [
    ({"time": "2025-03-01T07:00:00", "lat": 1, "lon": 2}, "fixes[0].time", "no UTC offset"),
    ({"time": "2025-03-01", "lat": 1, "lon": 2}, "fixes[0].time", "no UTC offset"),
    ({"time": "soon", "lat": 1, "lon": 2}, "fixes[0].time", "not an ISO 8601"),
    ({"time": 1740787200000, "lat": 1, "lon": 2}, "fixes[0].time", "milliseconds"),
    ({"time": "2025-03-01T00:00:00Z", "lat": 91, "lon": 2}, "fixes[0].lat", "out of range"),
    ({"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": -180.5}, "fixes[0].lon", "out of range"),
    ({"time": "2025-03-01T00:00:00Z", "lat": True, "lon": 2}, "fixes[0].lat", "not a number"),
    ({"time": "2025-03-01T00:00:00Z", "lat": "1", "lon": 2}, "fixes[0].lat", "not a number"),
    ({"time": "2025-03-01T00:00:00Z", "lon": 2}, "fixes[0].lat", "is missing"),
    ({"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2, "accuracy_m": -3},
     "fixes[0].accuracy_m", "out of range"),
    ({"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2, "acc": 3}, "fixes[0].acc",
     "not a known field"),
    ({"device": "phone-999", "time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2}, "device",
     "topic names device 'phone-017'"),
    ({"fixes": {"time": "2025-03-01T00:00:00Z"}}, "fixes", "must be an array"),
    ({"worker": "bad worker", "fixes": []}, "worker", "not a valid worker id"),
    ([1, 2], "fixes[0]", "must be a JSON object"),
    ("a string", "fixes", "expected a JSON object or array"),
])
def test_parse_rejects_invalid_fix(document: Any, location: str, fragment: str) -> None:
    with pytest.raises(FixInvalid) as raised:
        parse_fix_payload(TOPIC, _payload(document))
    locations = [problem["location"] for problem in raised.value.problems]
    assert location in locations
    assert any(fragment in problem["message"] for problem in raised.value.problems)
    assert raised.value.status == 422
    assert raised.value.key == "gis.tracks.fix_invalid"


@pytest.mark.parametrize(("payload", "fragment"), [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_parse_rejects_undecodable_payload(payload: bytes, fragment: str) -> None:
    with pytest.raises(FixInvalid, match=fragment):
        parse_fix_payload(TOPIC, payload)


def test_parse_lists_every_problem() -> None:
    items = [{"time": "2025-03-01T00:00:00", "lat": 1, "lon": 2},
             {"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2},
             {"time": "2025-03-01T00:00:00Z", "lat": 100, "lon": 200}]
    with pytest.raises(FixInvalid) as raised:
        parse_fix_payload(TOPIC, _payload(items))
    locations = [problem["location"] for problem in raised.value.problems]
    assert locations == ["fixes[0].time", "fixes[2].lat", "fixes[2].lon"]
    assert raised.value.params["count"] == 3


def test_parse_rejects_topic_without_device() -> None:
    with pytest.raises(FixInvalid, match="does not end in a device id"):
        parse_fix_payload("vuonso/fixes/", b"[]")


def test_parse_body_needs_device_without_topic() -> None:
    with pytest.raises(FixInvalid, match="device"):
        parse_fix_document([{"time": "2025-03-01T00:00:00Z", "lat": 1, "lon": 2}])


def test_parse_rejects_oversized_batch() -> None:
    items = [{"time": 1740787200 + i, "lat": 1, "lon": 2} for i in range(MAX_FIXES_PER_PAYLOAD + 1)]
    with pytest.raises(FixInvalid, match="at most"):
        parse_fix_payload(TOPIC, _payload(items))


def test_store_inserts_and_registers_device(db: psycopg.Connection) -> None:
    result = store_fixes(db, [_fix(0), _fix(10, lat=11.5401)])
    assert (result.inserted, result.duplicates, result.flagged) == (2, 0, 0)
    rows = _stored(db)
    assert [row[1] for row in rows] == [T0, T0 + timedelta(seconds=10)]
    assert rows[1][3] == 11.5401
    assert all(row[6] == [] for row in rows)
    assert {row[7] for row in rows} == {"mqtt"}
    device = db.execute("SELECT workspace_id, worker FROM gis.gps_devices"
                        " WHERE device_id = 'phone-017'").fetchone()
    assert device is not None
    assert device[1] is None


def test_store_repeated_batch_once(db: psycopg.Connection) -> None:
    batch = [_fix(0), _fix(10, lat=11.5401), _fix(20, lat=11.5402)]
    first = store_fixes(db, batch)
    second = store_fixes(db, batch)
    assert first.inserted == 3
    assert (second.inserted, second.duplicates) == (0, 3)
    assert len(_stored(db)) == 3
    assert all(row[6] == [] for row in _stored(db))


def test_store_repeat_inside_one_batch(db: psycopg.Connection) -> None:
    result = store_fixes(db, [_fix(0), _fix(0), _fix(10, lat=11.5401)])
    assert (result.inserted, result.duplicates) == (2, 1)


def test_poor_accuracy_is_flagged_not_dropped(db: psycopg.Connection) -> None:
    result = store_fixes(db, [_fix(0), _fix(10, accuracy_m=120.0), _fix(20, accuracy_m=None)])
    assert (result.inserted, result.flagged) == (3, 1)
    flags = [row[6] for row in _stored(db)]
    assert flags == [[], ["poor_accuracy"], []]


def test_position_jump_is_flagged_implausible_speed(db: psycopg.Connection) -> None:
    # 0.01 degree of latitude is about 1.1 km: in 10 s that is 110 m/s, far above walking.
    result = store_fixes(db, [_fix(0), _fix(10, lat=11.5500), _fix(20, lat=11.5401)])
    assert result.flagged == 1
    assert [row[6] for row in _stored(db)] == [[], ["implausible_speed"], []]


def test_speed_check_uses_stored_predecessor(db: psycopg.Connection) -> None:
    store_fixes(db, [_fix(0)])
    result = store_fixes(db, [_fix(5, lat=11.5500)])
    assert result.flagged == 1
    assert _stored(db)[1][6] == ["implausible_speed"]


def test_reported_speed_over_limit_is_flagged(db: psycopg.Connection) -> None:
    store_fixes(db, [_fix(0, speed_mps=80.0)])
    assert _stored(db)[0][6] == ["implausible_speed"]


def test_accuracy_radii_absorb_jitter(db: psycopg.Connection) -> None:
    # 40 m apart in 0.5 s, but both radii are 25 m: the move fits inside the uncertainty.
    fixes = [_fix(0, accuracy_m=25.0), _fix(0.5, lat=11.54036, accuracy_m=25.0)]
    result = store_fixes(db, fixes)
    assert result.flagged == 0


def test_future_time_is_flagged(db: psycopg.Connection) -> None:
    result = store_fixes(db, [_fix(7200)], now=T0)
    assert result.flagged == 1
    assert _stored(db)[0][6] == ["future_time"]


def test_conflicting_repeat_flags_stored_fix(db: psycopg.Connection) -> None:
    store_fixes(db, [_fix(0)])
    result = store_fixes(db, [_fix(0, lat=11.5405)])
    assert (result.inserted, result.duplicates) == (0, 1)
    rows = _stored(db)
    assert rows[0][3] == 11.54
    assert rows[0][6] == ["duplicate_time"]


def test_worker_comes_from_assignment_or_payload(db: psycopg.Connection) -> None:
    assign_device(db, "phone-017", "NV-0042")
    store_fixes(db, [_fix(0)])
    store_fixes(db, [Fix("phone-017", T0 + timedelta(seconds=10), 11.54, 106.89, 5.0,
                         worker="NV-0099")], channel="http")
    rows = _stored(db)
    assert [(row[2], row[7]) for row in rows] == [("NV-0042", "mqtt"), ("NV-0099", "http")]


def test_reassigning_device_keeps_history(db: psycopg.Connection) -> None:
    assign_device(db, "tracker-3", "NV-0001")
    store_fixes(db, [_fix(0, device="tracker-3")])
    assign_device(db, "tracker-3", "NV-0002")
    store_fixes(db, [_fix(10, device="tracker-3")])
    assert [row[2] for row in _stored(db)] == ["NV-0001", "NV-0002"]


@pytest.mark.parametrize(("device", "worker", "fragment"), [
    ("phone 1", "NV-1", "device id"),
    ("phone-1", "NV 1", "worker id"),
])
def test_assign_device_rejects_bad_ids(db: psycopg.Connection, device: str, worker: str,
                                       fragment: str) -> None:
    with pytest.raises(FixInvalid, match=fragment):
        assign_device(db, device, worker)
