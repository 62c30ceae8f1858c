"""Helpers shared by the benchmark scripts: machine facts, statistics, a temporary database and
the JSON result line.

Scripts run as `.venv/bin/python bench/NAME.py`, so Python puts this folder on the import path
and they import this module as `common`.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg

from vuonso.core import migrate
from vuonso.core.settings import load_settings, redact_url

# The role needs CREATEDB. The database named in the URL is only used to create and drop others.
ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://vuonso:vuonso@127.0.0.1:5432/vuonso")
TEMPLATE = os.environ.get("VUONSO_TEMPLATE_DB", "vuonso_template")
T = TypeVar("T")


def say(message: str) -> None:
    """Print a progress line; the last line of a script's output is its JSON result instead."""
    print(message, flush=True)


def with_database(url: str, name: str) -> str:
    """Return the URL with its database name replaced."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextmanager
def temporary_database(prefix: str = "vuonso_bench") -> Iterator[str]:
    """Create a database from the PostGIS template, migrate it, yield its URL, and drop it after.

    The database is dropped even when the benchmark fails or is interrupted with Ctrl-C.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = with_database(ADMIN_URL, name)
    try:
        with psycopg.connect(url) as conn:
            migrate.upgrade(conn, load_settings(database_url=url))
        say(f"temporary database {redact_url(url)} created and migrated")
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"temporary database {name} dropped")


def machine_facts(conn: psycopg.Connection) -> dict[str, Any]:
    """Collect the CPU, cores, memory, load, Python, PostgreSQL, PostGIS and GEOS of this run."""
    row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version(),"
                       " postgis_geos_version()").fetchone()
    assert row is not None
    import shapely

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(_memory_kb() / 1024 / 1024, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "postgresql": row[0],
        "postgis": row[1],
        "postgis_geos": row[2],
        "shapely": shapely.__version__,
        "shapely_geos": shapely.geos_version_string,
        "numpy": np.__version__,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_kb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Run `action` once; return its wall time in seconds and its result."""
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile_ms(seconds: Sequence[float], percent: float) -> float:
    """Return a percentile of durations given in seconds, in milliseconds (linear interpolation)."""
    return float(np.percentile(np.asarray(seconds) * 1000.0, percent))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def print_result(figures: dict[str, Any]) -> None:
    """Print the figures as one JSON object on the last line of the output."""
    sys.stdout.write(json.dumps(figures, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()
