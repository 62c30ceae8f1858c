"""Shared fixtures: a migrated test database, a private broker, the anvil chain of `make test`.

Services are real. `make test` starts PostgreSQL and anvil and installs Mosquitto; a test that
needs one fails loudly when it is missing rather than skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.support.database import empty_package_tables
from tests.support.services import Broker
from vuonso.core import migrate
from vuonso.core.settings import Settings, load_settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
_ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://vuonso:vuonso@127.0.0.1:5432/vuonso")


def shared_data(*parts: str) -> Path:
    """Path to third-party conformance data, or skip when this clone has no shared/data beside it."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"conformance data {path} is not present; it sits beside the repository in CI")
    return path


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database built from the PostGIS template and migrated from empty."""
    name = f"vuonso_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE vuonso_template')
    url = _with_database(_ADMIN_URL, name)
    settings = load_settings(database_url=url)
    with psycopg.connect(url) as conn:
        migrate.upgrade(conn, settings)
    yield url
    with psycopg.connect(_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database, whose package tables are emptied before the test."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        empty_package_tables(conn)
        yield conn


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """A private Mosquitto broker for the whole session."""
    instance = Broker()
    instance.start()
    yield instance
    instance.close()


@pytest.fixture()
def settings(database_url: str, broker: Broker) -> Settings:
    """Settings on the test database and broker. The client id and the shared subscription group
    are new per test: a stopped worker's persistent session would otherwise keep its share of the
    next test's messages."""
    suffix = uuid.uuid4().hex[:8]
    return load_settings(database_url=database_url, mqtt_url=broker.url,
                         mqtt_client_id=f"test-{suffix}", mqtt_share_group=f"test-{suffix}")
