"""Real services for tests: a private Mosquitto broker and a throwaway PostgreSQL cluster.

Each runs as a child process on a free 127.0.0.1 port, so a test may kill or restart it without
touching the services of `make demo`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(found):
        raise RuntimeError("mosquitto is not installed; run `make test`, which installs it")
    return found


class Broker:
    """A Mosquitto 2 broker with the project's configuration and persistence in a temp folder."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vuonso-broker-"))
        template = (REPO / "deploy" / "mosquitto.conf.in").read_text()
        config = template.replace("@PORT@", str(self.port)).replace("@DIR@", str(self.dir))
        if os.geteuid() == 0:
            config += "user root\n"
        (self.dir / "mosquitto.conf").write_text(config)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = str(self.dir / "mosquitto.conf")
        self.process = subprocess.Popen([_mosquitto_binary(), "-c", config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker; SIGTERM lets it save its persistence file first."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
    return str(versions[-1] / "bin" / name)


class Postgres:
    """A throwaway PostgreSQL cluster, for tests that restart the database server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="vuonso-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run([*self._as_postgres, _pg_bin("initdb"), "-D", str(self.data), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, stdout=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run([*self._as_postgres, _pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-l",
                        str(self.dir / "log"), "-o", f"-p {self.port} -k {self.dir} -c fsync=off",
                        "start"], check=True, stdout=subprocess.DEVNULL)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self._as_postgres, _pg_bin("pg_ctl"), "-D", str(self.data), "-w", "-m",
                        mode, "stop"], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def restart(self) -> None:
        self.stop("immediate")
        self.start()

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
