-- Device registry: each sensor station or LoRaWAN end device, with its placement history.
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.devices (
    device_id     text PRIMARY KEY CHECK (device_id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'),
    workspace_id  integer NOT NULL REFERENCES core.workspaces(id),
    dev_eui       text UNIQUE CHECK (dev_eui ~ '^[0-9a-f]{16}$'),
    model         text NOT NULL,
    name          text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Where a device stands and which plot contains it; moving it closes the row and adds another.
CREATE TABLE ingest.device_placements (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES ingest.devices(device_id) ON DELETE CASCADE,
    position    geometry(Point, 4326) NOT NULL,
    plot_id     bigint REFERENCES gis.plots(id) ON DELETE SET NULL,
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX device_placements_current ON ingest.device_placements (device_id)
    WHERE valid_to IS NULL;
CREATE INDEX device_placements_plot ON ingest.device_placements (plot_id) WHERE valid_to IS NULL;

CREATE TABLE ingest.dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    format       text,
    reason_code  text NOT NULL,
    reason       text NOT NULL,
    replayed_at  timestamptz,
    replay_result text
);
CREATE INDEX dead_letters_pending ON ingest.dead_letters (received_at) WHERE replayed_at IS NULL;
