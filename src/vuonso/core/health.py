"""Health checks of the services the platform needs: the database, the MQTT broker and the chain.

Each check blocks for about its timeout at most and returns a CheckResult instead of raising,
also for a service that is down or a URL that cannot be used. Its `error` is then a stable code
of ERROR_CODES with an English `detail`. run_checks() runs the three in parallel threads.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from vuonso.core import migrate
from vuonso.core.errors import DatabaseError
from vuonso.core.settings import Settings, redact_url

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0
# Shown in place of a URL that cannot be parsed, since masking its password is then unreliable.
INVALID_URL = "(invalid URL)"
HIDDEN_URL = "(connection string hidden)"
ERROR_CODES = (
    "unreachable",         # connection refused, DNS failure or another network error
    "timeout",             # no response within the timeout
    "refused",             # the broker returned a CONNACK with a failure reason code
    "url_invalid",         # the configured URL cannot be parsed or has an unsupported scheme
    "query_failed",        # the database accepted the connection but a query failed
    "migrations_pending",  # the database lacks migrations that this code ships
    "migrations_invalid",  # the shipped migrations cannot be listed (a duplicate version)
    "http_error",          # the chain RPC returned a non-2xx HTTP status
    "rpc_error",           # the chain RPC returned a JSON-RPC error
    "invalid_response",    # the chain RPC response is not the JSON-RPC result expected
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check; `url` has its password replaced, `info` contains check-specific facts."""

    name: str
    up: bool
    latency_ms: float
    url: str
    error: str | None = None
    detail: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: dict[str, CheckResult]

    @property
    def ok(self) -> bool:
        return all(check.up for check in self.checks.values())


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database(database_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Connect on a fresh connection, run SELECT 1 and compare applied with shipped migrations."""
    url = _shown_url(database_url)
    if url is None:
        return CheckResult("database", False, 0.0, INVALID_URL, "url_invalid",
                           "DATABASE_URL cannot be parsed: check its port and host")
    started = time.perf_counter()
    # libpq rounds connect_timeout to whole seconds and treats values below 2 as 2.
    connect_timeout = max(2, round(timeout_s))
    statement_timeout_ms = max(1, int(timeout_s * 1000))
    try:
        conn = psycopg.connect(database_url, autocommit=True, connect_timeout=connect_timeout,
                               options=f"-c statement_timeout={statement_timeout_ms}")
    except psycopg.OperationalError as exc:
        code = "timeout" if "timeout" in str(exc).lower() else "unreachable"
        return CheckResult("database", False, _elapsed_ms(started), url, code, _first_line(exc))
    except psycopg.Error as exc:
        # psycopg raises ProgrammingError for a DATABASE_URL it cannot parse.
        return CheckResult("database", False, _elapsed_ms(started), url, "url_invalid",
                           _first_line(exc))

    with conn:
        try:
            conn.execute("SELECT 1").fetchone()
            applied = {row[0] for row in
                       conn.execute("SELECT version FROM core.schema_migrations").fetchall()}
        except psycopg.errors.UndefinedTable:
            applied = set()
        except psycopg.errors.QueryCanceled as exc:
            return CheckResult("database", False, _elapsed_ms(started), url, "timeout",
                               _first_line(exc))
        except psycopg.Error as exc:
            return CheckResult("database", False, _elapsed_ms(started), url, "query_failed",
                               _first_line(exc))
    latency = _elapsed_ms(started)

    try:
        shipped = {m.version: f"{m.version:04d}_{m.name}" for m in migrate.discover()}
    except DatabaseError as exc:
        return CheckResult("database", False, latency, url, "migrations_invalid", exc.message)
    pending = [shipped[v] for v in sorted(set(shipped) - applied)]
    info: dict[str, Any] = {"migrations_applied": len(applied & set(shipped)),
                            "migrations_pending": pending}
    if pending:
        return CheckResult("database", False, latency, url, "migrations_pending",
                           f"{len(pending)} migrations not applied: {', '.join(pending)}; "
                           "run `vuonso db upgrade`", info)
    return CheckResult("database", True, latency, url, info=info)


def check_broker(mqtt_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Open an MQTT v5 connection, wait for CONNACK and disconnect, subscribing to nothing."""
    url = _shown_url(mqtt_url) or INVALID_URL
    parts = urlsplit(mqtt_url) if url != INVALID_URL else None
    if parts is None or parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        return CheckResult("broker", False, 0.0, url, "url_invalid",
                           f"MQTT_URL {url} is not mqtt://HOST:PORT")
    port = parts.port or 1883
    started = time.perf_counter()

    outcome: dict[str, ReasonCode] = {}

    def on_connect(client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                   reason: ReasonCode, properties: object) -> None:
        outcome["reason"] = reason

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"vuonso-health-{uuid.uuid4().hex[:12]}",
                         protocol=MQTTProtocolVersion.MQTTv5)
    client.connect_timeout = timeout_s
    client.on_connect = on_connect
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    try:
        client.connect(parts.hostname, port, keepalive=max(5, round(timeout_s * 2)))
    except TimeoutError as exc:
        return CheckResult("broker", False, _elapsed_ms(started), url, "timeout", str(exc))
    except OSError as exc:
        return CheckResult("broker", False, _elapsed_ms(started), url, "unreachable", str(exc))

    try:
        deadline = started + timeout_s
        while "reason" not in outcome and time.perf_counter() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        latency = _elapsed_ms(started)
    finally:
        client.disconnect()
        client.loop(timeout=0.01)

    reason = outcome.get("reason")
    if reason is None:
        return CheckResult("broker", False, latency, url, "timeout",
                           f"no CONNACK within {timeout_s} s")
    if reason.is_failure:
        return CheckResult("broker", False, latency, url, "refused",
                           f"broker refused the connection: {reason}")
    return CheckResult("broker", True, latency, url)


def check_chain(rpc_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Ask the JSON-RPC endpoint for eth_chainId and eth_blockNumber."""
    url = _public_rpc_url(rpc_url)
    if url == INVALID_URL or urlsplit(rpc_url).scheme not in ("http", "https"):
        return CheckResult("chain", False, 0.0, url, "url_invalid",
                           f"CHAIN_RPC_URL {url} is not http(s)://HOST:PORT")
    started = time.perf_counter()
    info: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=timeout_s) as client:
            for key, method in (("chain_id", "eth_chainId"), ("block_number", "eth_blockNumber")):
                remaining = max(0.1, timeout_s - (time.perf_counter() - started))
                response = client.post(rpc_url, timeout=remaining, json={
                    "jsonrpc": "2.0", "id": len(info) + 1, "method": method, "params": []})
                if response.is_error:
                    return CheckResult("chain", False, _elapsed_ms(started), url, "http_error",
                                       f"{method} returned HTTP {response.status_code}", info)
                info[key] = _rpc_quantity(method, response.json())
    except httpx.TimeoutException as exc:
        return CheckResult("chain", False, _elapsed_ms(started), url, "timeout",
                           f"no response within {timeout_s} s ({type(exc).__name__})", info)
    except httpx.TransportError as exc:
        return CheckResult("chain", False, _elapsed_ms(started), url, "unreachable", str(exc), info)
    except httpx.InvalidURL as exc:
        return CheckResult("chain", False, 0.0, url, "url_invalid", str(exc), info)
    except _RpcFailure as exc:
        return CheckResult("chain", False, _elapsed_ms(started), url, exc.code, str(exc), info)
    except ValueError as exc:
        # response.json() on a body that is not JSON.
        return CheckResult("chain", False, _elapsed_ms(started), url, "invalid_response",
                           f"response is not JSON: {exc}", info)
    return CheckResult("chain", True, _elapsed_ms(started), url, info=info)


class _RpcFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _rpc_quantity(method: str, body: object) -> int:
    """Return the hex quantity in a JSON-RPC response as an int."""
    if not isinstance(body, dict):
        raise _RpcFailure("invalid_response", f"{method}: response is not a JSON object")
    if "error" in body:
        raise _RpcFailure("rpc_error", f"{method}: {body['error']}")
    result = body.get("result")
    if not isinstance(result, str) or not result.startswith("0x"):
        raise _RpcFailure("invalid_response", f"{method}: result {result!r} is not a hex quantity")
    try:
        return int(result, 16)
    except ValueError as exc:
        raise _RpcFailure("invalid_response",
                          f"{method}: result {result!r} is not a hex quantity") from exc


def _shown_url(url: str) -> str | None:
    """Return the URL with its password masked, or None when it cannot be parsed.

    A libpq key=value string is not a URL, so redact_url cannot mask it and it is hidden whole.
    """
    if "://" not in url:
        return HIDDEN_URL
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError for a bad port or IPv6 literal
    except ValueError:
        return None
    return redact_url(url)


def _public_rpc_url(rpc_url: str) -> str:
    """Return the RPC URL without password, path or query.

    Hosted RPC providers put the API key in the path (https://host/v3/KEY), which redact_url
    leaves in place, so only scheme, host and port are shown.
    """
    shown = _shown_url(rpc_url)
    if shown is None or shown == HIDDEN_URL:
        return shown or INVALID_URL
    parts = urlsplit(shown)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_checks(settings: Settings, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> HealthReport:
    """Run the database, broker and chain checks in parallel threads; blocks about timeout_s."""
    checks: dict[str, Callable[[], CheckResult]] = {
        "database": lambda: check_database(settings.database_url.get_secret_value(),
                                           timeout_s=timeout_s),
        "broker": lambda: check_broker(settings.mqtt_url.get_secret_value(), timeout_s=timeout_s),
        "chain": lambda: check_chain(settings.chain_rpc_url, timeout_s=timeout_s),
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(checks),
                                               thread_name_prefix="health") as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        results = {name: future.result() for name, future in futures.items()}
    for result in results.values():
        if not result.up:
            log.warning("health check %s failed on %s: %s (%s)", result.name, result.url,
                        result.error, result.detail)
    return HealthReport(results)
