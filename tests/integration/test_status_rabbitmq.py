"""`hub status` on the real RabbitMQ (a vhost per test, read through its management API) and
PostgreSQL (a database per test): all well exits 0; an unread egress queue, dead letters and
entries long past the last signed checkpoint exit 8 naming them.

The management API's figures are up to ``rabbit.STATS_INTERVAL`` old, so each check runs
``hub status`` again until the figures show what the test did, within a few intervals."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
from click.testing import CliRunner, Result
from pydantic import SecretStr

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.management import ManagementAddress, ManagementApi, QueueFigures
from hub.bus.topology import egress_queue
from hub.bus.transport import Transport
from hub.cli import main
from hub.exits import Exit
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT, filings, running
from tests.waiting import eventually

FIGURES_WAIT = 4 * rabbit.STATS_INTERVAL
EGRESS = [egress_queue(partner) for partner in ("portal", "onestop", "postal")]


def on_rabbit(settings: Settings, broker_url: str, postgres_url: str, **changes: Any) -> Settings:
    return settings.model_copy(
        update={"broker_url": SecretStr(broker_url), "database_url": SecretStr(postgres_url), **changes}
    )


def status(settings: Settings, *args: str) -> Result:
    env = {
        "HUB_BROKER_URL": settings.broker_url_value(),
        "HUB_DATABASE_URL": settings.database_url.get_secret_value(),
        "HUB_MANAGEMENT_URL": None,  # derived from the broker URL: what a default install does
    }
    return CliRunner().invoke(main, ["status", *args], env=env)


def status_until(settings: Settings, check: Callable[[Result], bool], what: str, *args: str) -> Result:
    return eventually(lambda: status(settings, *args), check, FIGURES_WAIT, what, every=0.5)


def document(result: Result) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def dead_letters_waiting(result: Result, partner: str) -> int | None:
    """The depth of the partner's dead-letter queue in ``--json`` output; None when there is none
    (the run failed: the loop tries again, and names the last result when it gives up)."""
    if result.exit_code not in (Exit.OK, Exit.ATTENTION):
        return None
    queue = document(result)["partners"][partner]["dead_letters"]
    return None if queue is None else int(queue["depth"])


def attention_lines(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("ATTENTION")]


@contextmanager
def partners_reading(broker_url: str) -> Iterator[None]:
    """A consumer on every egress queue, as partners that read their queue (nothing acknowledged)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    channel = connection.channel()
    for queue in EGRESS:
        channel.basic_consume(queue, lambda *_: None)
    try:
        yield
    finally:
        connection.close()


def test_a_healthy_hub_whose_partners_read_their_queues_exits_0(
    broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal
) -> None:
    hub_settings = on_rabbit(settings, broker_url, postgres_url)
    with running(app.build(hub_settings)) as run, partners_reading(broker_url):
        Transport(broker_url).publish_confirmed(filings(portal, 3))
        assert run.worker.wait_settled(3, WAIT)
        # The broker reports the readers with its statistics (every 5 s): wait for them too.
        result = status_until(
            hub_settings,
            lambda r: r.exit_code == Exit.OK and "nobody reads it" not in r.stdout,
            "hub status: all well, every egress queue read",
        )
        assert "all well" in result.stdout
        figures = document(status(hub_settings, "--json"))
    assert figures["ok"] is True
    assert figures["workers"] == 1
    assert all(queue["consumers"] == 1 for queue in figures["partitions"].values())
    assert figures["partners"]["onestop"]["egress"]["consumers"] == 1
    assert figures["audit"]["last_checkpoint_seq"] is not None  # the filings' entries were signed


def test_an_egress_queue_with_messages_and_no_reader_exits_8_naming_it(
    broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal
) -> None:
    hub_settings = on_rabbit(settings, broker_url, postgres_url)
    with running(app.build(hub_settings)) as run:
        Transport(broker_url).publish_confirmed(filings(portal, 2))
        assert run.worker.wait_settled(2, WAIT)
        result = status_until(
            hub_settings,
            lambda r: any("egress.onestop" in line for line in attention_lines(r)),
            "an attention line naming egress.onestop",
        )
    assert result.exit_code == Exit.ATTENTION
    (line,) = [line for line in attention_lines(result) if "egress.onestop" in line]
    assert "messages wait and nobody reads them" in line
    assert "runbook" in line


def test_dead_letters_are_counted_by_reason_and_exit_8(
    broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal
) -> None:
    hub_settings = on_rabbit(settings, broker_url, postgres_url)
    bad = [(reason, m) for reason, m in portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes)]
    bad = [(reason, m) for reason, m in bad if reason != "wrong_ingress"]  # guest may use any ingress
    with running(app.build(hub_settings)) as run, partners_reading(broker_url):
        Transport(broker_url).publish_confirmed([m for _, m in bad])
        assert run.worker.wait_settled(len(bad), WAIT)
        result = status_until(
            hub_settings,
            lambda r: dead_letters_waiting(r, "portal") == len(bad),
            f"{len(bad)} dead letters in the management API's figures",
            "--json",
        )
    figures = document(result)
    assert result.exit_code == Exit.ATTENTION
    assert figures["partners"]["portal"]["dead_letters_by_reason"] == dict(
        sorted(Counter(str(reason) for reason, _ in bad).items())
    )
    assert figures["partners"]["portal"]["dead_letters_by_reason"]["validation_failed"] == 2
    assert figures["partners"]["onestop"]["dead_letters_by_reason"] == {}
    (dead,) = [a for a in figures["attention"] if a["subject"] == "hub.dead.portal"]
    assert dead["problem"] == f"{len(bad)} dead letters wait"
    assert "hub dead-letters show portal" in dead["action"]


def test_entries_recorded_long_after_the_last_checkpoint_are_flagged(
    broker_url: str, postgres_url: str, settings: Settings, portal: FakePortal
) -> None:
    # Checkpoints an hour apart: the first write signs one, the next ones are not due yet.
    hub_settings = on_rabbit(settings, broker_url, postgres_url, audit_checkpoint_seconds=3600.0)
    with running(app.build(hub_settings)) as run, partners_reading(broker_url):
        transport = Transport(broker_url)
        transport.publish_confirmed(filings(portal, 1))
        assert run.worker.wait_settled(1, WAIT)
        transport.publish_confirmed(filings(portal, 1))
        assert run.worker.wait_settled(2, WAIT)
        calm = document(status(hub_settings, "--json"))  # default limit: 2 x 3600 s + 60 s
        lag = calm["audit"]["checkpoint_lag_seconds"]
        assert lag is not None
        assert lag > 0
        assert calm["audit"]["entries_after_checkpoint"] > 0
        assert "audit checkpoints" not in [a["subject"] for a in calm["attention"]]
        strict = status(hub_settings, "--json", "--checkpoint-lag", str(lag / 2))
    assert strict.exit_code == Exit.ATTENTION
    (flagged,) = [a for a in document(strict)["attention"] if a["subject"] == "audit checkpoints"]
    assert "after the last signed checkpoint" in flagged["problem"]


def test_a_refused_management_login_is_one_line_exit_4_without_the_password(
    broker_url: str, postgres_url: str, settings: Settings
) -> None:
    hub_settings = on_rabbit(settings, broker_url, postgres_url)
    app.open_store(postgres_url, hub_settings).engine.dispose()
    wrong = f"http://guest:not-the-password@{rabbit.HOST}:15672"
    result = CliRunner().invoke(
        main,
        ["status"],
        env={"HUB_BROKER_URL": broker_url, "HUB_DATABASE_URL": postgres_url, "HUB_MANAGEMENT_URL": wrong},
    )
    assert result.exit_code == Exit.BROKER_REFUSED
    assert result.stderr.startswith("Error: HUB_MANAGEMENT_URL (http://guest:****@")
    assert result.stderr.count("\n") == 1
    assert "not-the-password" not in result.output


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the probe is closed


def test_a_store_that_does_not_answer_is_one_line_and_exit_1(broker_url: str) -> None:
    port = closed_port()
    env = {"HUB_BROKER_URL": broker_url, "HUB_DATABASE_URL": f"postgresql://hub:db-pw@127.0.0.1:{port}/hub"}
    result = CliRunner().invoke(main, ["status"], env=env)
    assert result.exit_code == Exit.FAILURE
    assert result.stderr.startswith("Error: HUB_DATABASE_URL (postgresql://hub:***@127.0.0.1:")
    assert "the store does not answer" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "db-pw" not in result.output


def test_the_next_management_address_is_tried_when_one_does_not_answer(broker_url: str) -> None:
    Transport(broker_url).apply_topology(app.topology())
    port = closed_port()
    down = ManagementAddress(f"http://127.0.0.1:{port}", rabbit.USER, rabbit.PASSWORD)
    up = ManagementAddress(f"http://{rabbit.HOST}:15672", rabbit.USER, rabbit.PASSWORD)
    queues = ManagementApi([down, up]).queues(rabbit.vhost_of(broker_url))
    assert set(EGRESS) <= set(queues)
    assert queues["egress.portal"] == QueueFigures("egress.portal", 0, 0, 0)
