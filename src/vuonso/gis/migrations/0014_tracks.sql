-- GPS devices and their workers, imported GPX tracks, and live fixes from phones and trackers.

-- A phone or tracker that sends fixes; `worker` is who carries it now. Each fix stores the worker
-- resolved when it arrived, so handing a device to someone else does not rewrite history.
CREATE TABLE gis.gps_devices (
    device_id     text PRIMARY KEY CHECK (device_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    workspace_id  integer NOT NULL REFERENCES core.workspaces(id),
    worker        text CHECK (worker ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$'),
    name          text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    assigned_at   timestamptz
);
CREATE INDEX gps_devices_worker ON gis.gps_devices (worker) WHERE worker IS NOT NULL;

-- One row per <trk> of an imported GPX file. Importing the same file again for the same worker
-- finds the existing rows through (source_sha256, source_index) instead of adding copies.
CREATE TABLE gis.tracks (
    id             bigserial PRIMARY KEY,
    workspace_id   integer NOT NULL REFERENCES core.workspaces(id),
    worker         text NOT NULL CHECK (worker ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$'),
    device_id      text REFERENCES gis.gps_devices(device_id) ON DELETE SET NULL,
    name           text,
    source_file    text,
    source_sha256  text NOT NULL CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    source_index   integer NOT NULL CHECK (source_index >= 0),
    imported_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, worker, source_sha256, source_index)
);
CREATE INDEX tracks_worker ON gis.tracks (workspace_id, worker);

-- Segments are never joined: each has its own line, length and time span.
CREATE TABLE gis.track_segments (
    id          bigserial PRIMARY KEY,
    track_id    bigint NOT NULL REFERENCES gis.tracks(id) ON DELETE CASCADE,
    seq         integer NOT NULL CHECK (seq >= 0),
    geom        geometry(LineString, 4326),
    length_m    double precision NOT NULL CHECK (length_m >= 0),
    points      integer NOT NULL CHECK (points >= 0),
    start_time  timestamptz,
    end_time    timestamptz,
    UNIQUE (track_id, seq),
    CHECK ((geom IS NULL) = (points < 2))
);
CREATE INDEX track_segments_geom ON gis.track_segments USING gist (geom);

CREATE TABLE gis.track_points (
    segment_id   bigint NOT NULL REFERENCES gis.track_segments(id) ON DELETE CASCADE,
    seq          integer NOT NULL CHECK (seq >= 0),
    time         timestamptz,
    position     geometry(Point, 4326) NOT NULL,
    elevation_m  double precision,
    accuracy_m   double precision CHECK (accuracy_m >= 0),
    hdop         double precision CHECK (hdop >= 0),
    PRIMARY KEY (segment_id, seq)
);
CREATE INDEX track_points_position ON gis.track_points USING gist (position);

-- Live fixes over MQTT or HTTP. A repeated (device, time) is stored once; poor fixes are kept
-- with flags so that visits and maps can leave them out.
-- NOTE: not partitioned and without retention; a corps of phones reporting every 10 s adds
-- millions of rows a day, so time partitions will be needed before that scale.
CREATE TABLE gis.fixes (
    device_id    text NOT NULL REFERENCES gis.gps_devices(device_id),
    time         timestamptz NOT NULL,
    worker       text,
    position     geometry(Point, 4326) NOT NULL,
    accuracy_m   double precision CHECK (accuracy_m >= 0),
    speed_mps    double precision CHECK (speed_mps >= 0),
    elevation_m  double precision,
    flags        text[] NOT NULL DEFAULT '{}' CHECK (flags <@ ARRAY[
                     'poor_accuracy', 'implausible_speed', 'duplicate_time', 'future_time']),
    channel      text NOT NULL CHECK (channel IN ('mqtt', 'http')),
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, time)
);
CREATE INDEX fixes_worker_time ON gis.fixes (worker, time) WHERE worker IS NOT NULL;
CREATE INDEX fixes_position ON gis.fixes USING gist (position);
CREATE INDEX fixes_time_brin ON gis.fixes USING brin (time);
