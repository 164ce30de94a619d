"""Replaying a dead letter on RabbitMQ never loses it: it is taken off ``hub.dead.<partner>`` only
once the broker confirmed its replacement. Interrupted between the two, the letter stays and a second
replay is at worst a duplicate, which the hub drops; refused, the letter stays."""

from __future__ import annotations

from typing import Any

import kombu
import pytest
from click.testing import CliRunner

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.kombu_messages import kombu_publish
from hub.bus.transport import Transport
from hub.cli import main
from hub.envelope import HEADER_REASON, HEADER_REPLAYED_FROM_USER, Delivery, Outbound
from hub.replay import matching, replay
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import running
from tests.integration.guarantees import drain, ids, ledger_rows, sources, wired
from tests.waiting import eventually

NEW_UNIT = "000.00.77.H30"  # not in the registry until the test adds it
WAIT = 15.0


def dead_letter_one(broker_url: str, settings: Settings, portal: FakePortal) -> Delivery:
    """A filing for a unit the registry lacks, dead-lettered ``unknown_agency`` by a running hub."""
    [filing] = dead_letter(broker_url, settings, portal, 1)
    return filing


def dead_letter(broker_url: str, settings: Settings, portal: FakePortal, count: int) -> list[Delivery]:
    """``count`` such filings, dead-lettered; the letters in their queue's order (filings of different
    dossiers go through different partitions, so not always in the order they were sent)."""
    sent = [portal.message("dossier.submitted", portal.dossier_submitted(NEW_UNIT)) for _ in range(count)]
    transport = Transport(broker_url)
    with running(app.build(wired(settings, broker_url))):
        transport.publish_confirmed(sent)
        dead_letters(transport, count)
    return transport.peek("hub.dead.portal", limit=count)


def dead_letters(transport: Transport, count: int) -> None:
    """Wait until ``hub.dead.portal`` has ``count`` letters ready (a quorum queue takes back what a
    closed channel left unacknowledged a moment after the close)."""
    eventually(
        lambda: transport.depth("hub.dead.portal"), lambda n: n == count, WAIT, f"{count} dead letters"
    )


def replay_cli(broker_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    return CliRunner().invoke(main, ["dead-letters", "replay", "portal"])


def with_the_unit(settings: Settings) -> Settings:
    unit = settings.agencies[0].model_copy(update={"code": NEW_UNIT, "name": "new unit (sample)"})
    return settings.model_copy(update={"agencies": [*settings.agencies, unit], "replay_users": ["guest"]})


def test_a_replay_interrupted_after_its_publish_keeps_the_dead_letter_and_the_duplicate_is_dropped(
    broker_url: str, settings: Settings, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    filing = dead_letter_one(broker_url, settings, portal)
    transport = Transport(broker_url)

    def publish_then_lose_the_connection(producer: kombu.Producer, message: Outbound, **options: Any) -> None:
        kombu_publish(producer, message, **options)  # confirmed by the broker
        raise ConnectionResetError("the connection dropped before the dead letter was acknowledged")

    with monkeypatch.context() as patched:
        patched.setattr("hub.bus.transport.kombu_publish", publish_then_lose_the_connection)
        interrupted = replay_cli(broker_url, patched)
    assert interrupted.exit_code == 1, interrupted.output
    assert "Error: HUB_BROKER_URL (amqp://" in interrupted.output
    assert "the connection failed while moving messages: ConnectionResetError" in interrupted.output
    dead_letters(transport, 1)  # still there
    assert transport.depth("hub.ingress.portal") == 1  # and its replay too

    again = replay_cli(broker_url, monkeypatch)
    assert again.exit_code == 0, again.output
    dead_letters(transport, 0)
    assert transport.depth("hub.ingress.portal") == 2

    fixed = wired(with_the_unit(settings), broker_url)
    with running(app.build(fixed)):
        rows = eventually(
            lambda: ledger_rows(fixed.database_url.get_secret_value()),
            lambda rows: len(rows.get(str(filing.properties.message_id), [])) == 3,
            WAIT,
            "both replays recorded",
        )
    assert sorted(rows[str(filing.properties.message_id)]) == ["dead_lettered", "duplicate", "forwarded"]
    assert sources(drain(broker_url, "egress.onestop")) == ids([filing])  # forwarded once


@pytest.mark.parametrize("refusal", ["nack", "return"])
def test_a_refused_replay_keeps_the_dead_letter(
    broker_url: str, settings: Settings, portal: FakePortal, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    filing = dead_letter_one(broker_url, settings, portal)
    vhost = rabbit.vhost_of(broker_url)
    transport = Transport(broker_url)
    if refusal == "nack":  # the ingress queue is full and refuses publishes
        rabbit.set_policy(
            vhost, "full", r"^hub\.ingress\.portal$", {"max-length": 0, "overflow": "reject-publish"}
        )
        transport.publish_confirmed([portal.message("dossier.submitted", portal.dossier_submitted(NEW_UNIT))])
        waiting = 1
    else:  # nothing would receive the replay
        rabbit.unbind(vhost, "ingress.portal", "hub.ingress.portal", "#")
        waiting = 0

    refused = replay_cli(broker_url, monkeypatch)
    assert refused.exit_code == 1, refused.output
    assert "the broker failed while moving messages" in refused.output, refused.exception  # said, not a crash
    assert f"replayed {filing.properties.message_id}" not in refused.output
    dead_letters(transport, 1)
    assert transport.depth("hub.ingress.portal") == waiting
    [letter] = transport.peek("hub.dead.portal", limit=10, partner="portal")
    assert letter.properties.message_id == filing.properties.message_id


def test_a_replay_looks_at_no_more_than_its_limit_and_takes_only_the_letters_chosen(
    broker_url: str, settings: Settings, portal: FakePortal
) -> None:
    first, second, third = ids(dead_letter(broker_url, settings, portal, 3))
    transport = Transport(broker_url)
    chosen = matching([second, third], [])
    moved = replay(transport, "portal", operator="guest", chosen=chosen, limit=2)
    assert ids(moved) == [second]  # the first was looked at and left, the third never looked at
    dead_letters(transport, 2)
    assert sorted(ids(transport.peek("hub.dead.portal", limit=10))) == sorted([first, third])
    assert ids(transport.peek("hub.ingress.portal", limit=10)) == [second]


def test_a_message_the_broker_gave_up_on_is_replayed_to_its_partner_s_ingress(
    broker_url: str, settings: Settings, portal: FakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message past the queue's delivery limit is dead-lettered by the broker itself: it has none of
    the hub's headers, only RabbitMQ's x-death, and still goes back where it came from."""
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    filing = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    transport.publish_confirmed([filing])
    with kombu.Connection(broker_url) as connection:
        # A consumer, not basic.get: RabbitMQ refuses basic.get on a single-active-consumer queue.
        taken: list[Any] = []
        with kombu.Consumer(connection, [kombu.Queue("hub.ingress.portal", no_declare=True)],
                            on_message=taken.append, prefetch_count=1, no_ack=False):  # fmt: skip
            eventually(lambda: connection.drain_events(timeout=1) or taken, bool, WAIT, "the filing")
        taken[0].reject(requeue=False)  # the broker dead-letters it, as past x-delivery-limit
    dead_letters(transport, 1)
    [letter] = transport.peek("hub.dead.portal", limit=1, partner="portal")
    assert "x-death" in letter.properties.headers
    assert HEADER_REASON not in letter.properties.headers

    replayed = replay_cli(broker_url, monkeypatch)
    assert replayed.exit_code == 0, replayed.output
    dead_letters(transport, 0)
    [again] = transport.peek("hub.ingress.portal", limit=1, partner="portal")
    assert (again.exchange, again.routing_key, again.body) == (
        "ingress.portal",
        "dossier.submitted",
        filing.body,
    )
    assert again.properties.headers[HEADER_REPLAYED_FROM_USER] == "guest"
    assert not [h for h in again.properties.headers if h.startswith(("x-death", "x-first-death"))]

    operator = wired(settings, broker_url, replay_users=["guest"])
    with running(app.build(operator)):
        rows = eventually(
            lambda: ledger_rows(operator.database_url.get_secret_value()), bool, WAIT, "the replay recorded"
        )
    assert rows == {str(filing.properties.message_id): ["forwarded"]}
