-- Spatial look-ups of current device positions (OGC devices collection, map bbox queries).
CREATE INDEX device_placements_position ON ingest.device_placements USING gist (position)
    WHERE valid_to IS NULL;
