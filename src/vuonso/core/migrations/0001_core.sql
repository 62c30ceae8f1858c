-- Workspaces: a company's production data, or a practice space a trainer opens for a class.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE core.workspaces (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('production', 'practice')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO core.workspaces (code, name, kind) VALUES ('production', 'Production', 'production');
