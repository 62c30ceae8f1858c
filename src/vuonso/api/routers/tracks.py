"""GPS fixes posted by phones, imported GPX tracks, and plot visits of a worker."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Path, Query, UploadFile, status
from fastapi.responses import JSONResponse

from vuonso.api.deps import ConnDep, SettingsDep
from vuonso.core.errors import InvalidInput
from vuonso.gis import fixes, tracks, visits

router = APIRouter(prefix="/api/gis", tags=["gps"])

FIX_EXAMPLE = {
    "device": "phone-017",
    "fixes": [
        {"time": "2025-03-01T06:30:00+07:00", "lat": 11.5402, "lon": 106.8901, "accuracy_m": 6.5},
        {"time": "2025-03-01T06:30:10+07:00", "lat": 11.5403, "lon": 106.8903, "accuracy_m": 7.0},
    ],
}


@router.post("/fixes", summary="Store a batch of GPS fixes, such as one sent by a phone after "
             "being offline")
def post_fixes(
    conn: ConnDep,
    document: Annotated[Any, Body(description="One fix, an array of fixes, or "
                                  "{device, worker, fixes}; every time needs a UTC offset",
                                  examples=[FIX_EXAMPLE])],
) -> dict[str, int]:
    parsed = fixes.parse_fix_document(document)
    result = fixes.store_fixes(conn, parsed, channel="http")
    return {"received": len(parsed), "inserted": result.inserted,
            "duplicates": result.duplicates, "flagged": result.flagged}


@router.get("/visits", summary="Plots a worker entered on a local day, with time and distance "
            "inside each")
def get_visits(
    conn: ConnDep,
    settings: SettingsDep,
    worker: Annotated[str, Query(min_length=1, max_length=64, description="Worker id")],
    day: Annotated[dt.date, Query(alias="date", description="Local calendar day, YYYY-MM-DD, "
                                  "in the platform time zone")],
    max_gap_s: Annotated[float, Query(ge=1, le=86_400, description="A gap between positions "
                                      "longer than this, in seconds, ends a visit")
                         ] = visits.DEFAULT_MAX_GAP_S,
    workspace: Annotated[str, Query(description="Workspace code")] = "production",
) -> dict[str, Any]:
    return visits.visits_report(conn, worker, day, timezone=settings.timezone,
                                max_gap_s=max_gap_s, workspace=workspace)


@router.post("/tracks", status_code=status.HTTP_201_CREATED,
             summary="Import the tracks of a GPX file for a worker")
def post_track(
    conn: ConnDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="A GPX 1.0 or 1.1 file")],
    worker: Annotated[str, Query(min_length=1, max_length=64, description="Worker id")],
    device: Annotated[str | None, Query(description="Id of the recording device")] = None,
    workspace: Annotated[str, Query(description="Workspace code")] = "production",
) -> dict[str, Any]:
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise InvalidInput(f"the file is larger than {settings.upload_max_bytes} bytes",
                           key="gis.tracks.upload_too_large", limit=settings.upload_max_bytes)
    result = tracks.import_gpx(conn, data, worker=worker, source_file=file.filename,
                               device=device, workspace=workspace)
    return {"track_ids": result.track_ids, "created": result.created, "summary": result.summary}


@router.get("/tracks", summary="List imported GPS tracks, newest first")
def get_tracks(
    conn: ConnDep,
    worker: Annotated[str | None, Query(description="Only this worker's tracks")] = None,
    workspace: Annotated[str, Query(description="Workspace code")] = "production",
    limit: Annotated[int, Query(ge=1, le=500, description="Tracks per page")] = 50,
    offset: Annotated[int, Query(ge=0, description="Tracks to skip")] = 0,
) -> dict[str, Any]:
    rows = tracks.list_tracks(conn, worker=worker, workspace=workspace, limit=limit,
                              offset=offset)
    items = [{**row, "imported_at": row["imported_at"].isoformat(),
              "start": row["start"].isoformat() if row["start"] else None,
              "end": row["end"].isoformat() if row["end"] else None} for row in rows]
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/tracks/{track_id}", summary="One track as a GeoJSON Feature, one line per segment",
            response_class=JSONResponse)
def get_track(track_id: Annotated[int, Path(ge=1, description="Track id")],
              conn: ConnDep) -> JSONResponse:
    return JSONResponse(tracks.track_feature(conn, track_id), media_type="application/geo+json")
