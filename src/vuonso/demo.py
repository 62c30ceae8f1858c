"""`vuonso demo`: seed the demo corps, run the ingest worker, the API and the station simulator as
child processes, and stop exactly those children on Ctrl-C (SIGINT), SIGTERM or SIGHUP (the
terminal closed).

Children run in their own sessions, so a Ctrl-C in the terminal reaches only this process, which
then stops each child by its PID: SIGTERM first, SIGKILL after `--stop-timeout` seconds. When a
child exits on its own, the others are stopped too and the demo exits with status 1.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

import click
import httpx

from vuonso.core.db import connect
from vuonso.core.i18n import translate
from vuonso.core.settings import Settings, load_settings

log = logging.getLogger(__name__)

API_READY_TIMEOUT_S = 90.0
SUBSCRIBER_WAIT_S = 120.0  # how long the simulator repeats its first message for the worker
# Signals that stop the demo and its children: Ctrl-C, `kill`, and closing the terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]


class Supervisor:
    """Child processes started as `python -m vuonso ...` and stopped by PID."""

    def __init__(self, env: dict[str, str], stop_timeout_s: float) -> None:
        self.env = env
        self.stop_timeout_s = stop_timeout_s
        self.children: list[Child] = []

    def start(self, name: str, arguments: list[str]) -> Child:
        process = subprocess.Popen([sys.executable, "-m", "vuonso", *arguments], env=self.env,
                                   start_new_session=True)
        child = Child(name, process)
        self.children.append(child)
        log.info("started %s (pid %d): vuonso %s", name, process.pid, " ".join(arguments))
        return child

    def first_exited(self) -> Child | None:
        for child in self.children:
            if child.process.poll() is not None:
                return child
        return None

    def stop_all(self) -> None:
        """Send SIGTERM to every running child, newest first, then SIGKILL what is left at the
        deadline; every child is reaped before this returns."""
        running = [child for child in reversed(self.children) if child.process.poll() is None]
        for child in running:
            log.info("stopping %s (pid %d)", child.name, child.process.pid)
            child.process.terminate()
        deadline = time.monotonic() + self.stop_timeout_s
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) did not stop within %.0f s; killing it", child.name,
                            child.process.pid, self.stop_timeout_s)
                child.process.kill()
                child.process.wait()
        for child in self.children:
            log.info("%s (pid %d) %s", child.name, child.process.pid, describe_exit(child, running))


def describe_exit(child: Child, terminated: list[Child]) -> str:
    """Describe how a reaped child ended, for the log: "stopped by SIGTERM" when it ended by the
    signal `stop_all` sent to the children in `terminated`, else its exit status or signal."""
    code = child.process.returncode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if child in terminated and -code in (signal.SIGTERM, signal.SIGKILL):
            return f"stopped by {name}"
        return f"was killed by {name}"
    return f"exited with status {code}"


def _say(key: str, **params: object) -> None:
    """Print a message in Vietnamese, then in English.

    A failed write is logged and ignored, because after SIGHUP the terminal may be gone and the
    children must still be stopped.
    """
    try:
        click.echo(translate(key, "vi", **params))
        click.echo("  " + translate(key, "en", **params))
    except OSError as exc:
        log.debug("could not print message %s: %s", key, exc)


def _wait_for_api(url: str, supervisor: Supervisor, stop: threading.Event) -> bool:
    """Poll `url` until the API responds (any HTTP status), a child exits, or stop is requested."""
    deadline = time.monotonic() + API_READY_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if supervisor.first_exited() is not None:
            return False
        try:
            httpx.get(url, timeout=5.0)
            return True
        except httpx.HTTPError:
            stop.wait(0.5)
    return False


def _seed(settings: Settings, seed: int) -> int:
    """Seed the demo corps and return the id of its first plot, for the printed links."""
    from vuonso.gis.plots import list_plots
    from vuonso.simulators.corps import build_corps
    from vuonso.simulators.seed import seed_demo_corps

    corps = build_corps(seed)
    with connect(settings.database_url.get_secret_value()) as conn:
        report = seed_demo_corps(conn, corps)
        first = list_plots(conn, farm_code=corps.farms[0].code, limit=1)
    _say("simulators.demo.seeded", plots=report.plots_total, stations=report.stations_total, seed=seed)
    return int(first[0]["id"])


@click.command("demo")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the demo corps and weather.")
@click.option("--rate", type=click.FloatRange(min=0), default=None,
              help="Live messages per second. Default: every station once a minute.")
@click.option("--backfill-days", type=click.FloatRange(0, 31), default=7.0, show_default=True,
              help="Days of past hourly readings to publish first, so the charts have data.")
@click.option("--port", type=click.IntRange(1, 65_535), default=None,
              help="API port. Default: API_PORT or 8000.")
@click.option("--stop-timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds a child gets to exit after SIGTERM before it is killed.")
def demo_command(seed: int, rate: float | None, backfill_days: float, port: int | None,
                 stop_timeout: float) -> None:
    """Run the whole platform on demo data until Ctrl-C."""
    settings = load_settings()
    api_port = port or settings.api_port
    plot_id = _seed(settings, seed)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received", signum)
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, request_stop)

    env = {**os.environ, "API_PORT": str(api_port)}
    supervisor = Supervisor(env, stop_timeout)
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    base = f"http://{host}:{api_port}"
    status = 0
    _say("simulators.demo.starting")
    try:
        supervisor.start("ingest", ["ingest", "run"])
        supervisor.start("api", ["api", "serve", "--port", str(api_port)])
        simulator = ["simulate", "stations", "--seed", str(seed), "--backfill-days", str(backfill_days),
                     "--wait-for-subscriber", str(SUBSCRIBER_WAIT_S)]
        if rate is not None:
            simulator += ["--rate", str(rate)]
        supervisor.start("simulator", simulator)

        if _wait_for_api(f"{base}/health", supervisor, stop):
            _say("simulators.demo.ready")
            _say("simulators.demo.plot_list", url=f"{base}/")
            _say("simulators.demo.plot_page", url=f"{base}/plots/{plot_id}")
            _say("simulators.demo.map", url=f"{base}/map")
            _say("simulators.demo.ogc", url=f"{base}/ogc")
            _say("simulators.demo.plots_api", url=f"{base}/api/plots")
            _say("simulators.demo.docs", url=f"{base}/docs")
            _say("simulators.demo.health", url=f"{base}/health")
            if backfill_days:
                _say("simulators.demo.backfill", days=f"{backfill_days:g}")
            _say("simulators.demo.malformed")
            _say("simulators.demo.stop_hint")
        elif not stop.is_set() and supervisor.first_exited() is None:
            _say("simulators.demo.api_not_ready", url=f"{base}/health", seconds=f"{API_READY_TIMEOUT_S:g}")

        while not stop.wait(0.5):
            exited = supervisor.first_exited()
            if exited is not None:
                log.error("%s (pid %d) %s", exited.name, exited.process.pid,
                          describe_exit(exited, []))
                _say("simulators.demo.child_exited", name=exited.name, pid=exited.process.pid,
                     code=exited.process.returncode)
                status = 1
                break
    finally:
        _say("simulators.demo.stopping")
        supervisor.stop_all()
    _say("simulators.demo.stopped")
    if status:
        raise SystemExit(status)
