"""Fixtures of the API tests: an app client on the test database and broker, and an anvil chain."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.services import REPO, free_port, wait_for_port
from vuonso.api.app import create_app
from vuonso.core.settings import Settings

ANVIL = REPO / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
MAKE_TEST_CHAIN = ("127.0.0.1", 8545)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def chain_url() -> Iterator[str]:
    """The anvil chain of `make test` when it listens on 8545, else a private anvil."""
    if _port_open(*MAKE_TEST_CHAIN):
        yield f"http://{MAKE_TEST_CHAIN[0]}:{MAKE_TEST_CHAIN[1]}"
        return
    if not ANVIL.exists():
        raise RuntimeError(f"anvil is not running on 8545 and {ANVIL} is missing; run `make test`")
    port = free_port()
    process = subprocess.Popen([str(ANVIL), "--host", "127.0.0.1", "--port", str(port),
                                "--chain-id", "31337"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture()
def app_settings(settings: Settings, chain_url: str) -> Settings:
    return settings.model_copy(update={"chain_rpc_url": chain_url})


@pytest.fixture()
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as test_client:
        yield test_client
