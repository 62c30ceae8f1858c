-- One row per committed plot-file import; geometry versions it wrote name it in their source.
CREATE TABLE gis.plot_imports (
    id             bigserial PRIMARY KEY,
    farm_id        integer NOT NULL REFERENCES gis.farms(id) ON DELETE CASCADE,
    file_name      text NOT NULL,
    file_format    text NOT NULL,
    file_sha256    text NOT NULL,
    source_crs     text NOT NULL,
    mapping        jsonb NOT NULL DEFAULT '{}',
    created_count  integer NOT NULL DEFAULT 0,
    updated_count  integer NOT NULL DEFAULT 0,
    repaired_count integer NOT NULL DEFAULT 0,
    imported_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plot_imports_farm ON gis.plot_imports (farm_id, imported_at);
