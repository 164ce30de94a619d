"""``hub run`` against a broker or database that refuses it, or that does not answer.

A refusal (wrong vhost, wrong password, missing database) ends it within seconds, at start or on a
later reconnect, with one line naming the setting and the documented exit code. A broker that does
not answer is waited for: the process keeps running and says so.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from hub import app
from hub.bus.transport import Transport
from hub.exits import Exit
from tests import rabbit
from tests.integration.conftest import SERVER
from tests.integration.test_rabbitmq import vhost_of
from tests.proxy import Proxy, closed_port

EXIT_WITHIN = 20.0  # seconds: start-up (imports, migrations) and one refused attempt
PASSWORD = "wr0ng-s3cret"


def start(tmp_path: Path, broker: str, database: str | None = None, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "HUB_BROKER_URL": broker,
        "HUB_DATABASE_URL": database or f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "HUB_RETRY_BACKOFF_SECONDS": "0.2",
        "HUB_RETRY_BACKOFF_MAX_SECONDS": "1",
        **env,
    }
    command = [sys.executable, "-m", "hub", "run"]
    return subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)


def refused(process: subprocess.Popen[str]) -> tuple[int, str]:
    """The exit code and the last line on stderr of ``process``, which must end by itself."""
    try:
        _, stderr = process.communicate(timeout=EXIT_WITHIN)
    finally:
        process.kill()
    assert "Traceback" not in stderr, stderr
    return process.returncode, stderr.strip().splitlines()[-1]


def rabbit_url(vhost: str, password: str = rabbit.PASSWORD, port: int = rabbit.AMQP_PORT) -> str:
    return f"amqp://{rabbit.USER}:{password}@{rabbit.HOST}:{port}/{quote(vhost, safe='')}"


@pytest.fixture
def ready_vhost(broker_url: str) -> str:
    """``broker_url`` with the hub's topology applied."""
    Transport(broker_url).apply_topology(app.topology())
    return broker_url


def test_a_vhost_that_does_not_exist_ends_hub_run_naming_the_setting(broker_url: str, tmp_path: Path) -> None:
    missing = f"{vhost_of(broker_url)}-missing"
    code, line = refused(start(tmp_path, rabbit_url(missing)))
    assert code == Exit.BROKER_REFUSED
    assert line.startswith(f"Error: HUB_BROKER_URL (amqp://guest:****@{rabbit.HOST}:{rabbit.AMQP_PORT}/")
    assert f"vhost {missing!r} does not exist" in line


def test_a_wrong_password_ends_hub_run_without_showing_it(broker_url: str, tmp_path: Path) -> None:
    code, line = refused(start(tmp_path, rabbit_url(vhost_of(broker_url), password=PASSWORD)))
    assert code == Exit.BROKER_REFUSED
    assert "HUB_BROKER_URL" in line
    assert "refused the login of user 'guest'" in line
    assert PASSWORD not in line


@pytest.fixture
def postgres_server() -> None:
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.OperationalError:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 under CI=true")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")


@pytest.mark.usefixtures("postgres_server")
@pytest.mark.parametrize(
    ("database", "rule"),
    [
        ("postgresql://127.0.0.1:5432/hub_missing_{id}", "the database does not exist"),
        ("postgresql://hub_nobody_{id}:" + PASSWORD + "@127.0.0.1:5432/test", "the server refused the login"),
    ],
    ids=["missing-database", "unknown-user"],
)
def test_a_database_that_refuses_ends_hub_run_naming_the_setting(
    ready_vhost: str, tmp_path: Path, database: str, rule: str
) -> None:
    code, line = refused(start(tmp_path, ready_vhost, database.format(id=uuid.uuid4().hex[:8])))
    assert code == Exit.STORE_REFUSED
    assert line.startswith("Error: HUB_DATABASE_URL (postgresql")
    assert rule in line
    assert PASSWORD not in line


def test_a_vhost_deleted_under_a_running_hub_ends_it_on_the_reconnect(
    ready_vhost: str, tmp_path: Path
) -> None:
    process = start(tmp_path, ready_vhost)
    lines = StderrLines(process)
    assert lines.wait_for("consuming", timeout=30)
    rabbit.delete_vhost(vhost_of(ready_vhost))  # the broker closes the hub's connections
    code, line = lines.end(EXIT_WITHIN)
    assert code == Exit.BROKER_REFUSED
    # The broker says so as it closes the connection, or refuses a queue of the vanishing vhost first.
    assert f"vhost {vhost_of(ready_vhost)!r}" in line


def test_a_broker_that_does_not_answer_is_waited_for(tmp_path: Path) -> None:
    metrics_port = closed_port()
    process = start(tmp_path, rabbit_url("/", port=closed_port()), HUB_METRICS_PORT=str(metrics_port))
    lines = StderrLines(process)
    try:
        assert lines.wait_for("cannot start yet (HUB_BROKER_URL (amqp://guest:****@", timeout=30)
        scraped = (
            urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        )
        assert process.poll() is None  # still running
    finally:
        process.send_signal(signal.SIGTERM)
    code, _line = lines.end(EXIT_WITHIN)
    assert code == Exit.OK
    retries = [line for line in scraped.splitlines() if line.startswith('hub_retries_total{cause="connect"}')]
    assert retries
    assert float(retries[0].split()[-1]) >= 1


class StderrLines:
    """The lines a running process writes to stderr, read on a thread, to wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
            if text in line:
                return True
        return False

    def end(self, timeout: float) -> tuple[int, str]:
        """The exit code and last stderr line, once the process ended by itself within ``timeout``."""
        try:
            code = self._process.wait(timeout)
        finally:
            self._process.kill()
        self._reader.join(timeout)
        while (line := self._lines.get_nowait() if not self._lines.empty() else None) is not None:
            self.seen.append(line)
        assert not any("Traceback" in line for line in self.seen), "".join(self.seen)
        return code, self.seen[-1].strip() if self.seen else ""


def test_a_broker_that_goes_away_is_waited_for_with_a_line_every_few_seconds(
    ready_vhost: str, tmp_path: Path
) -> None:
    with Proxy(rabbit.AMQP_PORT, rabbit.HOST) as proxy:
        process = start(tmp_path, rabbit_url(vhost_of(ready_vhost), port=proxy.port))
        lines = StderrLines(process)
        try:
            assert lines.wait_for("consuming", timeout=30)
            connected = len(lines.seen)
            proxy.cut()  # every reconnect is refused from now on, every 0.1 to 1 s
            assert lines.wait_for("more attempts since the last report", timeout=30)
            away = lines.seen[connected:]
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
        code, _line = lines.end(EXIT_WITHIN)
    assert code == Exit.OK
    # The loss, then one line 5 s later counting the attempts between: nothing per attempt, not
    # even pika's own lines.
    assert len(away) == 2, away
    assert all("broker session ended" in line for line in away)
