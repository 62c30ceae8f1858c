"""Versioned schema migrations, applied in order by `vuonso db upgrade`.

Each package keeps its migrations in its own `migrations/` folder as `NNNN_name.sql` or
`mNNNN_name.py`, a module with `upgrade(conn, settings)` whose `m` prefix makes it importable.
Version numbers are unique across all packages and define the order. Applied versions are
recorded in core.schema_migrations.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from vuonso.core.errors import DatabaseError
from vuonso.core.settings import Settings

log = logging.getLogger(__name__)

# Packages that own tables, in no particular order: the version numbers decide.
MIGRATION_PACKAGES = ("vuonso.core", "vuonso.gis", "vuonso.ingest")
_NAME = re.compile(r"^(?:(\d{4})_([a-z0-9_]+)\.(sql)|m(\d{4})_([a-z0-9_]+)\.(py))$")
# Serialises concurrent `db upgrade` runs (several workers starting at once).
_LOCK_KEY = 0x7675_6F6E_736F


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    package: str
    kind: str  # "sql" or "py"

    def apply(self, conn: psycopg.Connection, settings: Settings) -> None:
        """Run this migration inside the caller's transaction."""
        if self.kind == "sql":
            folder = resources.files(self.package) / "migrations"
            sql = (folder / f"{self.version:04d}_{self.name}.sql").read_text(encoding="utf-8")
            conn.execute(sql.encode())
            return
        module = importlib.import_module(f"{self.package}.migrations.m{self.version:04d}_{self.name}")
        module.upgrade(conn, settings)


def discover() -> list[Migration]:
    """List every migration of every package, sorted by version; duplicate versions are an error."""
    found: dict[int, Migration] = {}
    for package in MIGRATION_PACKAGES:
        folder = resources.files(package) / "migrations"
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            match = _NAME.match(entry.name)
            if not match:
                continue
            groups = match.groups()
            version_text, name, kind = groups[0:3] if groups[0] else groups[3:6]
            version = int(version_text)
            migration = Migration(version, name, package, kind)
            if version in found:
                raise DatabaseError(
                    f"migration version {version:04d} is used twice: {found[version]} and "
                    f"{migration}; renumber one of them"
                )
            found[version] = migration
    return [found[v] for v in sorted(found)]


def applied_versions(conn: psycopg.Connection) -> set[int]:
    conn.execute("CREATE SCHEMA IF NOT EXISTS core")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS core.schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, package text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {row[0] for row in conn.execute("SELECT version FROM core.schema_migrations")}


def upgrade(conn: psycopg.Connection, settings: Settings) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied."""
    done: list[Migration] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        with conn.transaction():
            applied = applied_versions(conn)
        for migration in discover():
            if migration.version in applied:
                continue
            log.info("applying migration %04d_%s (%s)", migration.version, migration.name,
                     migration.package)
            try:
                with conn.transaction():
                    migration.apply(conn, settings)
                    conn.execute(
                        "INSERT INTO core.schema_migrations (version, name, package)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.package),
                    )
            except psycopg.Error as exc:
                raise DatabaseError(
                    f"migration {migration.version:04d}_{migration.name} failed: {exc}; "
                    "nothing of it was applied, fix the cause and run `vuonso db upgrade` again"
                ) from exc
            done.append(migration)
    finally:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return done


def status(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """List every known migration with whether it is applied."""
    with conn.transaction():
        applied = applied_versions(conn)
    return [
        {"version": m.version, "name": m.name, "package": m.package, "applied": m.version in applied}
        for m in discover()
    ]
