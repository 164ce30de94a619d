"""The hub under test as real ``hub run`` processes, so that SIGKILL and SIGTERM are real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.conftest import sample_agencies

BACKOFF_CAP_SECONDS = 1.0  # short, so that a store outage outlasts the delivery limit times the cap
STOP_SECONDS = 20.0  # SIGTERM: the hub's grace period (5 s here) and its checkpoint, with room


def hub_command() -> list[str]:
    """``.venv/bin/hub`` beside the interpreter running the tests, as an operator starts it."""
    script = Path(sys.executable).with_name("hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub"]


def hub_environment(broker_url: str, database_url: str) -> dict[str, str]:
    """The environment of every hub process of a run: the run's vhost and database, short backoffs
    (so outages are longer than the delivery limit times the cap), a short park delay."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {
        **inherited,
        "HUB_BROKER_URL": broker_url,
        "HUB_DATABASE_URL": database_url,
        "HUB_AGENCIES": json.dumps([a.model_dump(mode="json") for a in sample_agencies()]),
        "HUB_RETRY_BACKOFF_SECONDS": "0.2",
        "HUB_RETRY_BACKOFF_MAX_SECONDS": str(BACKOFF_CAP_SECONDS),
        "HUB_PARK_RETRY_SECONDS": "1",
        "HUB_PARK_WINDOW_SECONDS": "120",
        "HUB_PREFETCH": "200",
        "HUB_SHUTDOWN_GRACE_SECONDS": "5",
        "HUB_DEFAULT_INGRESS_USERS": json.dumps(["guest"]),  # the load publishes as guest
    }


def apply_topology(env: Mapping[str, str]) -> None:
    """``hub topology apply`` with the run's settings (partitions, park delay)."""
    subprocess.run(
        [*hub_command(), "topology", "apply"], env=env, check=True, capture_output=True, timeout=60
    )


@dataclass
class HubProcess:
    number: int
    process: subprocess.Popen[bytes]
    log: Path
    stderr: IO[bytes]
    killed: bool = False  # by the test, on purpose

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        self.stderr.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Hubs:
    """The ``hub run`` processes of one run; their stderr goes to ``logs/hub-<n>.log``."""

    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self._env = dict(env)
        self._logs = logs
        self.started: list[HubProcess] = []

    def start(self) -> HubProcess:
        number = len(self.started) + 1
        log = self._logs / f"hub-{number}.log"
        stderr = log.open("wb")
        process = subprocess.Popen(
            [*hub_command(), "run"], env=self._env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        hub = HubProcess(number, process, log, stderr)
        self.started.append(hub)
        return hub

    def kill(self, hub: HubProcess) -> None:
        """SIGKILL: no grace, no checkpoint; the broker takes back its unacknowledged deliveries."""
        hub.killed = True
        hub.process.send_signal(signal.SIGKILL)
        hub.process.wait(timeout=10)

    def kept(self) -> list[HubProcess]:
        """The processes the test did not kill: each must still be running."""
        return [hub for hub in self.started if not hub.killed]

    def stop(self) -> dict[int, int | None]:
        """SIGTERM every kept process; its exit code by number (None: it did not exit in time)."""
        kept = [hub for hub in self.kept() if hub.alive]
        for hub in kept:
            hub.process.send_signal(signal.SIGTERM)
        codes: dict[int, int | None] = {}
        for hub in kept:
            try:
                codes[hub.number] = hub.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                codes[hub.number] = None
        return codes

    def close(self) -> None:
        """Whatever still runs is killed (a failed test must not leave workers behind)."""
        for hub in self.started:
            if hub.alive:
                hub.process.kill()
                hub.process.wait(timeout=10)
            hub.stderr.close()
