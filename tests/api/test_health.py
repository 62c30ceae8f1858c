"""GET /health against the real database, the private broker and anvil, and the checks of
core.health against services that are down, silent or return invalid responses."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.support.services import free_port
from vuonso.api.app import create_app
from vuonso.core import health
from vuonso.core.settings import Settings


def test_health_all_up(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "chain"}
    for check in body["checks"].values():
        assert check["state"] == "up"
        assert check["latency_ms"] >= 0
        assert "error" not in check
    database = body["checks"]["database"]
    assert database["migrations_pending"] == []
    assert database["migrations_applied"] >= 1
    assert ":***@" in database["url"]
    assert ":vuonso@" not in database["url"]
    assert body["checks"]["broker"]["url"].startswith("mqtt://127.0.0.1:")
    assert body["checks"]["chain"]["chain_id"] == 31337
    assert body["checks"]["chain"]["block_number"] >= 0


@pytest.mark.parametrize(("lang", "message"), [("vi", "Không kết nối được dịch vụ."),
                                               ("en", "The service cannot be reached.")])
def test_health_broker_closed_port_is_503(app_settings: Settings, lang: str,
                                          message: str) -> None:
    closed = app_settings.model_copy(
        update={"mqtt_url": SecretStr(f"mqtt://127.0.0.1:{free_port()}")})

    with TestClient(create_app(closed)) as client:
        response = client.get("/health", params={"lang": lang})

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    broker = body["checks"]["broker"]
    assert broker["state"] == "down"
    assert broker["error"]["code"] == "unreachable"
    assert broker["error"]["message"] == message
    assert broker["error"]["detail"]
    assert body["checks"]["database"]["state"] == "up"
    assert body["checks"]["chain"]["state"] == "up"


def test_check_broker_silent_server_times_out() -> None:
    # A listening socket that never accepts: the TCP handshake succeeds, no CONNACK comes.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        result = health.check_broker(f"mqtt://127.0.0.1:{port}", timeout_s=0.5)

    assert not result.up
    assert result.error == "timeout"
    assert "CONNACK" in (result.detail or "")


def test_check_broker_hides_password() -> None:
    result = health.check_broker(f"mqtt://ingest:s3cret@127.0.0.1:{free_port()}", timeout_s=0.5)
    assert result.error == "unreachable"
    assert "s3cret" not in result.url
    assert result.url.startswith("mqtt://ingest:***@127.0.0.1:")


class _RpcStub(BaseHTTPRequestHandler):
    """Responds to every POST with the status and body stored on the server."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture()
def rpc_stub() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RpcStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


RPC_CASES = [
    # (HTTP status, body, expected error code or None when up)
    (200, {"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}, None),
    (200, {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no method"}},
     "rpc_error"),
    (200, {"jsonrpc": "2.0", "id": 1, "result": "31337"}, "invalid_response"),
    (200, {"jsonrpc": "2.0", "id": 1, "result": "0xzz"}, "invalid_response"),
    (200, ["not", "an", "object"], "invalid_response"),
    (200, "<html>gateway</html>", "invalid_response"),
    (502, {"message": "bad gateway"}, "http_error"),
]


@pytest.mark.parametrize(("status", "body", "error"), RPC_CASES)
def test_check_chain_responses(rpc_stub: ThreadingHTTPServer, status: int, body: object,
                             error: str | None) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    rpc_stub.answer = (status, raw)  # type: ignore[attr-defined]
    port = rpc_stub.server_address[1]

    result = health.check_chain(f"http://127.0.0.1:{port}", timeout_s=2.0)

    assert result.error == error
    assert result.up is (error is None)
    if error is None:
        assert result.info == {"chain_id": 31337, "block_number": 31337}


def test_check_chain_hides_key_in_path() -> None:
    port = free_port()
    result = health.check_chain(f"http://127.0.0.1:{port}/v3/APIKEY123", timeout_s=1.0)
    assert result.error == "unreachable"
    assert result.url == f"http://127.0.0.1:{port}"


def test_check_database_closed_port_unreachable() -> None:
    result = health.check_database(
        f"postgresql://vuonso:vuonso@127.0.0.1:{free_port()}/vuonso", timeout_s=2.0)
    assert result.error == "unreachable"
    assert ":***@" in result.url


def test_check_database_unmigrated_lists_pending(database_url: str) -> None:
    name = f"vuonso_health_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(database_url)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE vuonso_template')
    try:
        result = health.check_database(urlunsplit(parts._replace(path=f"/{name}")))
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert not result.up
    assert result.error == "migrations_pending"
    assert "0001_core" in result.info["migrations_pending"]
    assert result.info["migrations_applied"] == 0
    assert "vuonso db upgrade" in (result.detail or "")


URL_CASES = [
    # (check, URL) pairs that must give url_invalid without showing the password "secret".
    (health.check_database, "postgresql://vuonso:secret@127.0.0.1:port/vuonso"),
    (health.check_database, "host=127.0.0.1 password=secret nonsense=1"),
    (health.check_broker, "mqtt://user:secret@127.0.0.1:port"),
    (health.check_broker, "amqp://user:secret@127.0.0.1:5672"),
    (health.check_broker, "mqtt://user:secret@[::1"),
    (health.check_chain, "ftp://user:secret@127.0.0.1:21"),
    (health.check_chain, "http://user:secret@127.0.0.1:port"),
]


@pytest.mark.parametrize(("check", "url"), URL_CASES)
def test_checks_reject_unusable_url(check: Callable[..., health.CheckResult], url: str) -> None:
    result = check(url, timeout_s=0.5)
    assert not result.up
    assert result.error == "url_invalid"
    assert "secret" not in result.url
    assert "secret" not in (result.detail or "")
