"""``hub config check`` on the real RabbitMQ and PostgreSQL, and start errors that need them: a good
configuration passes, and each broken part is named in its own line."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub import app
from hub.bus.transport import Transport
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.exits import Exit
from hub.store import migrate
from hub.store.database import make_engine
from tests import rabbit
from tests.hub_command import KEYS, PASSWORD, hub, one_line_error
from tests.integration.test_hub_run_refusals import EXIT_WITHIN, StderrLines, rabbit_url
from tests.proxy import closed_port


@pytest.fixture
def hub_user(broker_url: str) -> Iterator[str]:
    """``broker_url``'s vhost as a user of the hub's own (not guest), with the topology applied."""
    vhost = rabbit.vhost_of(broker_url)
    name = f"hub-{uuid.uuid4().hex[:8]}"
    rabbit.create_user(name, PASSWORD, vhost)
    Transport(broker_url).apply_topology(app.topology())
    yield f"amqp://{name}:{PASSWORD}@{rabbit.HOST}:{rabbit.AMQP_PORT}/{vhost}"
    rabbit.delete_user(name)


def check(tmp_path: Path, broker: str, database: str, **env: str) -> tuple[int, list[str]]:
    settings = {**KEYS, "HUB_BROKER_URL": broker, "HUB_DATABASE_URL": database, **env}
    finished = hub(["--config", str(DEMO_SAMPLE_CONFIG), "config", "check"], tmp_path, settings)
    assert "Traceback" not in finished.stderr, finished.stderr
    assert PASSWORD not in finished.stdout + finished.stderr
    return finished.code, finished.stdout.splitlines()


def test_a_good_configuration_passes(tmp_path: Path, hub_user: str, postgres_url: str) -> None:
    migrate.upgrade(make_engine(postgres_url))
    code, lines = check(tmp_path, hub_user, postgres_url)
    assert code == Exit.OK, lines
    assert lines[-1] == "configuration ready"
    checked = lines[:-1]
    assert all(line.startswith("ok   ") for line in checked), checked
    parts = [line.split()[1].rstrip(":") for line in checked]
    assert parts == [
        "settings",
        "HUB_AGENCIES",
        "HUB_MASTER_KEYS",
        "HUB_PSEUDONYM_KEY",
        "HUB_AUDIT_SIGNING_KEY",
        "HUB_SIGNATURES",
        "HUB_CONTRACT_VERSIONS",
        "HUB_DATABASE_URL",
        "HUB_BROKER_URL",
    ]
    assert f"its schema is at the newest revision {migrate.head()}" in checked[7]
    assert "where the hub's 12 queues exist" in checked[8]  # 3 ingress, 8 partitions, the workers'


def test_each_refusal_is_named(tmp_path: Path, broker_url: str, postgres_url: str) -> None:
    missing_vhost = rabbit_url(f"{rabbit.vhost_of(broker_url)}-missing")
    missing_database = postgres_url + "-missing"
    code, lines = check(tmp_path, missing_vhost, missing_database, HUB_PSEUDONYM_KEY="c2hvcnQ=")
    assert code == Exit.FAILURE
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed == [
        "FAIL HUB_PSEUDONYM_KEY: base64 of at least 32 bytes expected",
        f"FAIL HUB_DATABASE_URL ({missing_database.replace('postgresql:', 'postgresql+psycopg:')}): "
        f"the database does not exist: create it or fix the URL's path; the database said: "
        f'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        f'FATAL: database "{missing_database.rsplit("/", 1)[1]}" does not exist',
        failed[2],
    ]
    assert failed[2].startswith("FAIL HUB_BROKER_URL (amqp://guest:****@")
    assert f"vhost '{rabbit.vhost_of(missing_vhost)}' does not exist" in failed[2]


def test_missing_queues_and_an_empty_store_are_named(
    tmp_path: Path, broker_url: str, postgres_url: str
) -> None:
    code, lines = check(tmp_path, broker_url, postgres_url)  # no topology applied, nothing migrated
    assert code == Exit.FAILURE
    assert (
        f"warn HUB_DATABASE_URL (postgresql+psycopg://127.0.0.1:5432/{postgres_url.rsplit('/', 1)[1]}): "
        in ("\n".join(lines))
    )
    assert any("answers and is empty: `hub run` migrates it to" in line for line in lines), lines
    assert any(
        line.startswith("FAIL HUB_BROKER_URL (amqp://guest:****@")
        and "queue 'hub.ingress.portal' does not exist; run `hub topology apply`" in line
        for line in lines
    ), lines
    assert "configuration not ready: fix the FAIL lines" not in lines  # said on stderr


def test_a_missing_database_ends_a_one_shot_command_with_the_store_code(
    tmp_path: Path, postgres_url: str
) -> None:
    user = getpass.getuser()  # the role the fixture's URL logs in as (trust: the password is ignored)
    database = postgres_url.replace("postgresql://", f"postgresql://{user}:{PASSWORD}@") + "-missing"
    one_line_error(
        hub(["keys", "status"], tmp_path, {**KEYS, "HUB_DATABASE_URL": database}),
        Exit.STORE_REFUSED,
        f"HUB_DATABASE_URL (postgresql+psycopg://{user}:***@127.0.0.1:5432/",
        "the database does not exist",
    )


def test_hub_run_waits_for_a_database_that_does_not_answer_with_one_line(tmp_path: Path) -> None:
    database = f"postgresql://hub:{PASSWORD}@127.0.0.1:{closed_port()}/hub"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        **KEYS,
        "HUB_BROKER_URL": rabbit_url("/"),
        "HUB_DATABASE_URL": database,
        "HUB_RETRY_BACKOFF_SECONDS": "0.2",
        "HUB_RETRY_BACKOFF_MAX_SECONDS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "run"], env=environment, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    lines = StderrLines(process)
    try:
        assert lines.wait_for("cannot start yet", timeout=30)
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
    code, _last = lines.end(EXIT_WITHIN)
    assert code == Exit.OK
    waiting = [line for line in lines.seen if "cannot start yet" in line]
    assert "HUB_DATABASE_URL (postgresql+psycopg://hub:***@127.0.0.1:" in waiting[0]
    assert "the database does not answer" in waiting[0]
    assert not any(PASSWORD in line for line in lines.seen)
