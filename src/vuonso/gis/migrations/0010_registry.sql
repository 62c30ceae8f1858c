-- Company-level units, farms, production teams and plots with versioned geometry.
CREATE SCHEMA IF NOT EXISTS gis;

CREATE TABLE gis.companies (
    id            serial PRIMARY KEY,
    workspace_id  integer NOT NULL REFERENCES core.workspaces(id),
    code          text NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL DEFAULT 'cong_ty' CHECK (kind IN ('cong_ty', 'doan_ktqp', 'chi_nhanh')),
    former_names  text[] NOT NULL DEFAULT '{}',
    province      text,
    commune       text,
    old_province  text,
    old_district  text,
    UNIQUE (workspace_id, code)
);

CREATE TABLE gis.farms (
    id          serial PRIMARY KEY,
    company_id  integer NOT NULL REFERENCES gis.companies(id) ON DELETE CASCADE,
    code        text NOT NULL,
    name        text NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE gis.teams (
    id          serial PRIMARY KEY,
    company_id  integer NOT NULL REFERENCES gis.companies(id) ON DELETE CASCADE,
    farm_id     integer REFERENCES gis.farms(id) ON DELETE SET NULL,
    code        text NOT NULL,
    name        text NOT NULL,
    UNIQUE (company_id, code)
);

CREATE TABLE gis.plots (
    id              bigserial PRIMARY KEY,
    workspace_id    integer NOT NULL REFERENCES core.workspaces(id),
    farm_id         integer NOT NULL REFERENCES gis.farms(id),
    team_id         integer REFERENCES gis.teams(id) ON DELETE SET NULL,
    code            text NOT NULL,
    crop            text NOT NULL CHECK (crop IN ('rubber', 'coffee')),
    planting_year   integer CHECK (planting_year BETWEEN 1900 AND 2100),
    clone           text,
    tree_count      integer CHECK (tree_count >= 0),
    tapping_system  text,
    status          text NOT NULL DEFAULT 'tapping'
                    CHECK (status IN ('immature', 'tapping', 'replanting', 'felled', 'productive')),
    attributes      jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (farm_id, code)
);

-- A boundary is never overwritten: a change closes the current row (valid_to) and adds a new one.
CREATE TABLE gis.plot_geometries (
    id          bigserial PRIMARY KEY,
    plot_id     bigint NOT NULL REFERENCES gis.plots(id) ON DELETE CASCADE,
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    area_ha     double precision NOT NULL CHECK (area_ha >= 0),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    source      text,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX plot_geometries_current ON gis.plot_geometries (plot_id) WHERE valid_to IS NULL;
CREATE INDEX plot_geometries_geom ON gis.plot_geometries USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX plot_geometries_history ON gis.plot_geometries (plot_id, valid_from);

CREATE VIEW gis.current_plots AS
SELECT p.*, g.geom, g.area_ha, g.valid_from AS geometry_valid_from
FROM gis.plots p
JOIN gis.plot_geometries g ON g.plot_id = p.id AND g.valid_to IS NULL;
