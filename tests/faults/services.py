"""Stopping and restarting the local PostgreSQL and RabbitMQ, always restored, with bounded waits.

These disturb every client of the two servers, not only the run's vhost and database: run the
scenarios that use them on a machine of their own (CI) or when nobody else is testing.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest

from tests import rabbit
from tests.integration.conftest import SERVER

COMMAND_SECONDS = 90.0
BACK_SECONDS = 90.0
POLL_SECONDS = 0.2
T = TypeVar("T")


def need(tool: str) -> None:
    """Skip without ``tool`` (fail under CI, where the services' tools must be there)."""
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is needed by the fault scenarios under CI=true")
        pytest.skip(f"{tool} is not available")


def wait_for(read: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``read`` until it answers (not None). Raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while (value := read()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f}s")
        time.sleep(POLL_SECONDS)
    return value


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``ready`` until true; the moment it was (monotonic). Raises TimeoutError naming ``what``."""
    return wait_for(lambda: time.monotonic() if ready() else None, timeout, what)


# -- PostgreSQL -----------------------------------------------------------------------------------
def _cluster_version() -> str:
    """The cluster's version as scripts/services finds it: the first under /etc/postgresql."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    if not versions:
        pytest.skip("no PostgreSQL cluster under /etc/postgresql")
    return versions[0]


def _pg_ctl(action: str) -> None:
    need("pg_ctlcluster")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", _cluster_version(), "main", action]
    subprocess.run(command, check=True, capture_output=True, timeout=COMMAND_SECONDS)


def postgresql_answers() -> bool:
    try:
        with psycopg.connect(SERVER, connect_timeout=1) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _postgresql_back() -> None:
    if not postgresql_answers():
        # "already running" (it started meanwhile) is fine: the wait below decides.
        with contextlib.suppress(subprocess.CalledProcessError):
            _pg_ctl("start")
    wait_until(postgresql_answers, BACK_SECONDS, "PostgreSQL answering")


def restart_postgresql() -> None:
    """Restart the cluster; return once it answers again."""
    try:
        _pg_ctl("restart")
    finally:
        _postgresql_back()


@contextmanager
def postgresql_stopped() -> Iterator[None]:
    """PostgreSQL stopped for the body, started again after it (once it answers)."""
    try:
        _pg_ctl("stop")
        yield
    finally:
        _postgresql_back()


# -- RabbitMQ -------------------------------------------------------------------------------------
def _ctl(*args: str) -> None:
    need("rabbitmqctl")
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=COMMAND_SECONDS)


def _rabbitmq_back() -> None:
    try:
        _ctl("start_app")
    finally:
        wait_until(rabbit.reachable, BACK_SECONDS, "RabbitMQ answering on 5672")
        wait_until(_management_answers, BACK_SECONDS, "RabbitMQ's management API")


def _management_answers() -> bool:
    """Whether the management API serves requests again (it comes up after AMQP)."""
    request = urllib.request.Request(f"{rabbit.MANAGEMENT}/overview")
    token = base64.b64encode(f"{rabbit.USER}:{rabbit.PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except OSError:  # URLError and HTTPError are OSErrors
        return False


def restart_rabbitmq() -> None:
    """``rabbitmqctl stop_app`` then ``start_app``; return once AMQP and the management API answer."""
    try:
        _ctl("stop_app")
    finally:
        _rabbitmq_back()


def close_connections(vhost: str) -> None:
    """Close every client connection of ``vhost``: the hub's and the load's."""
    need("rabbitmqctl")
    rabbit.close_connections(vhost)
