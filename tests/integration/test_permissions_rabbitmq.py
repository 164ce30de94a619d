"""The broker's users and permissions, on the real RabbitMQ: the definitions ``hub topology show
--definitions`` prints are imported into a fresh vhost through the management API, with users named
for this run only (users are global to the broker), and every user is tried against every exchange
and queue. Each cell must be allowed or refused exactly as the matrix below says; the hub must work
under its own user and the operator must be able to apply the topology and replay.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pika
import pytest
from click.testing import CliRunner
from pika.adapters.blocking_connection import BlockingChannel
from pydantic import SecretStr

import connectors
from connectors.portal.fake import FakePortal
from hub import app, broker_access
from hub.bus.ingress import ingress_message
from hub.bus.topology import (
    EVENTS_EXCHANGE,
    PARTITIONS_EXCHANGE,
    WORKERS_QUEUE,
    Exchange,
    Queue,
    Topology,
    dead_letter_exchange,
    dead_letter_queue,
    egress_dead_letter_exchange,
    egress_exchange,
    egress_queue,
    ingress_exchange,
    ingress_queue,
    park_exchange,
)
from hub.bus.transport import Transport
from hub.cli import main
from hub.envelope import HEADER_REASON
from hub.settings import Settings
from tests import rabbit
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT

ACCESS_REFUSED = 403
PRECONDITION_FAILED = 406
PARTNERS = tuple(connectors.partners())


@dataclass(frozen=True)
class Secured:
    """A vhost with the hub's users imported: ``users`` role -> broker user, ``urls`` role -> URL."""

    settings: Settings
    vhost: str
    users: dict[str, str]
    urls: dict[str, str]
    topology: Topology


def _secured(base: Settings, with_topology: bool) -> Iterator[Secured]:
    if not rabbit.reachable(15672):
        pytest.skip("no RabbitMQ management API on 127.0.0.1:15672")
    run = uuid.uuid4().hex[:8]
    vhost = f"hub-test-perm-{run}"
    users = {role: f"hub-test-{run}-{role}" for role in (*PARTNERS, "hub", "operator")}
    passwords = {user: secrets.token_urlsafe(12) for user in users.values()}
    settings = base.model_copy(
        update={
            "ingress_users": {partner: [users[partner]] for partner in PARTNERS},
            "default_ingress_users": [],
            "replay_users": [users["operator"]],
            "broker_hub_user": users["hub"],
            "broker_passwords": {user: SecretStr(password) for user, password in passwords.items()},
        }
    )
    topology = app.topology(settings)
    definitions = broker_access.definitions(settings, topology, PARTNERS, vhost)
    if not with_topology:
        definitions = {k: v for k, v in definitions.items() if k not in ("exchanges", "queues", "bindings")}
    try:
        rabbit.import_definitions(definitions)
        urls = {role: rabbit.url_as(user, passwords[user], vhost) for role, user in users.items()}
        hub_url = SecretStr(urls["hub"])
        yield Secured(settings.model_copy(update={"broker_url": hub_url}), vhost, users, urls, topology)
    finally:
        rabbit.delete_vhost(vhost)
        for user in users.values():
            rabbit.delete_user(user)


@pytest.fixture
def imported(settings: Settings) -> Iterator[Secured]:
    """The whole definitions imported: users, vhost, permissions and topology."""
    yield from _secured(settings, with_topology=True)


@pytest.fixture
def access_only(settings: Settings) -> Iterator[Secured]:
    """Users, vhost and permissions imported; the topology left for the operator to apply."""
    yield from _secured(settings, with_topology=False)


# -- the expected matrix, written out rather than read back from the regular expressions -----------


def partner_may(partner: str, action: str, name: str) -> bool:
    """A partner publishes to its ingress and reads (consumes, purges) its egress; nothing else."""
    if action == "publish":
        return name == ingress_exchange(partner)
    if action in ("consume", "purge"):
        return name == egress_queue(partner)
    return False  # declare, delete, bind: never


def hub_may(action: str, name: str) -> bool:
    """The worker publishes to the partitions, park, dead-letter, egress and events exchanges and
    reads its ingress, partition and presence queues; `hub deliver` reads the egress queues and
    publishes to the egress dead-letter exchanges; it declares and deletes nothing."""
    if action == "publish":
        written = {PARTITIONS_EXCHANGE, EVENTS_EXCHANGE}
        makers = (park_exchange, dead_letter_exchange, egress_exchange, egress_dead_letter_exchange)
        written |= {make(p) for p in PARTNERS for make in makers}
        return name in written
    if action in ("consume", "purge"):
        read = {make(p) for p in PARTNERS for make in (ingress_queue, egress_queue)}
        return name == WORKERS_QUEUE or name.startswith("hub.partition.") or name in read
    return False


# -- trying one cell ---------------------------------------------------------------------------------


def refusal(connection: pika.BlockingConnection, action: Callable[[BlockingChannel], object]) -> int | None:
    """None when ``action`` was allowed, else the code the broker closed the channel with."""
    channel = connection.channel()
    try:
        action(channel)
    except pika.exceptions.ChannelClosedByBroker as error:
        return int(error.reply_code)
    channel.close()
    return None


def publishing(exchange: str, user_id: str) -> Callable[[BlockingChannel], object]:
    def publish(channel: BlockingChannel) -> None:
        channel.confirm_delivery()  # a refused publish closes the channel before its confirm
        properties = pika.BasicProperties(user_id=user_id, delivery_mode=2, message_id=uuid.uuid4().hex)
        channel.basic_publish(exchange, "matrix.probe", b"{}", properties)

    return publish


def consuming(queue: str) -> Callable[[BlockingChannel], object]:
    def consume(channel: BlockingChannel) -> None:
        channel.basic_qos(prefetch_count=1)  # a stream refuses a consumer without it
        tag = channel.basic_consume(queue, lambda *_: None)
        channel.basic_cancel(tag)

    return consume


def _declare_exchange(exchange: Exchange, channel: BlockingChannel) -> object:
    arguments = dict(exchange.arguments)
    return channel.exchange_declare(exchange.name, exchange.type, durable=True, arguments=arguments)


def _declare_queue(queue: Queue, channel: BlockingChannel) -> object:
    return channel.queue_declare(queue.name, durable=True, arguments=dict(queue.arguments))


def _purge(queue: str, channel: BlockingChannel) -> object:
    return channel.queue_purge(queue)


def _delete(queue: str, channel: BlockingChannel) -> object:
    return channel.queue_delete(queue)


def actions(topology: Topology, user: str) -> Iterator[tuple[str, str, Callable[[BlockingChannel], object]]]:
    """(action, entity, what to do) for every exchange and queue; deletes come last."""
    yield "publish", "", publishing("", user)  # the default exchange: straight to any queue by name
    for exchange in topology.exchanges:
        yield "publish", exchange.name, publishing(exchange.name, user)
        yield "declare", exchange.name, partial(_declare_exchange, exchange)
    for queue in topology.queues:
        yield "consume", queue.name, consuming(queue.name)
        yield "declare", queue.name, partial(_declare_queue, queue)
        if queue.arguments.get("x-queue-type") != "stream":  # a stream cannot be purged at all
            yield "purge", queue.name, partial(_purge, queue.name)
    for queue in topology.queues:
        yield "delete", queue.name, partial(_delete, queue.name)


def cells(url: str, topology: Topology, user: str) -> dict[tuple[str, str], int | None]:
    """(action, entity) -> None (allowed) or the broker's refusal code."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        return {(action, name): refusal(connection, act) for action, name, act in actions(topology, user)}


def mismatches(tried: dict[tuple[str, str], int | None], may: Callable[[str, str], bool]) -> list[str]:
    wrong = []
    for (action, name), code in tried.items():
        expected = may(action, name)
        if expected and code is not None:
            wrong.append(f"{action} {name!r}: refused ({code}), should be allowed")
        elif not expected and code != ACCESS_REFUSED:
            wrong.append(f"{action} {name!r}: {'allowed' if code is None else code}, should be refused (403)")
    return wrong


# -- the tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("partner", PARTNERS)
def test_a_partner_writes_only_its_ingress_and_reads_only_its_egress(imported: Secured, partner: str) -> None:
    tried = cells(imported.urls[partner], imported.topology, imported.users[partner])
    assert len(tried) > 3 * len(imported.topology.queues)  # every entity was tried
    assert mismatches(tried, lambda action, name: partner_may(partner, action, name)) == []


def test_a_partner_cannot_bind_its_egress_into_its_ingress(imported: Secured) -> None:
    """Read on ``egress.p`` would let it bind that exchange to its ingress (feeding the hub's answers
    back as its own messages): the topic permission refuses it, and queue bindings need write."""
    partner = PARTNERS[0]
    with pika.BlockingConnection(pika.URLParameters(imported.urls[partner])) as connection:
        source, destination = egress_exchange(partner), ingress_exchange(partner)
        assert refusal(connection, lambda ch: ch.exchange_bind(destination, source, "#")) == ACCESS_REFUSED
        assert refusal(connection, lambda ch: ch.queue_bind(egress_queue(partner), destination, "#")) == (
            ACCESS_REFUSED
        )


def test_a_partner_cannot_speak_for_another(imported: Secured) -> None:
    """A spoofed ``user_id`` is refused by the broker itself; another partner's ingress by the
    permissions; its own ingress with its own user is allowed."""
    one, other = PARTNERS[0], PARTNERS[1]
    me, them = imported.users[one], imported.users[other]
    with pika.BlockingConnection(pika.URLParameters(imported.urls[one])) as connection:
        assert refusal(connection, publishing(ingress_exchange(one), them)) == PRECONDITION_FAILED
        assert refusal(connection, publishing(ingress_exchange(other), them)) == ACCESS_REFUSED
        assert refusal(connection, publishing(ingress_exchange(other), me)) == ACCESS_REFUSED
        assert refusal(connection, publishing(ingress_exchange(one), me)) is None


def test_the_hub_user_declares_nothing_and_reads_and_writes_only_what_the_worker_needs(
    imported: Secured,
) -> None:
    tried = cells(imported.urls["hub"], imported.topology, imported.users["hub"])
    assert mismatches(tried, hub_may) == []


def test_guest_and_unset_passwords_cannot_log_in(imported: Secured) -> None:
    """The definitions name no guest; a user whose password was not configured gets an empty hash,
    which RabbitMQ refuses for any password."""
    settings = imported.settings.model_copy(update={"broker_passwords": {}})
    placeholders = broker_access.definitions(settings, imported.topology, PARTNERS, imported.vhost)
    assert "guest" not in [user["name"] for user in placeholders["users"]]
    assert {user["password_hash"] for user in placeholders["users"]} == {""}
    assert "hub_note" in placeholders
    user = f"{imported.users['hub']}-nopass"
    # The note is a key RabbitMQ does not know: the import must ignore it.
    only = {"hub_note": placeholders["hub_note"], "users": [{**placeholders["users"][0], "name": user}]}
    rabbit.import_definitions(only)
    try:
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(rabbit.url_as(user, "", imported.vhost)))
    finally:
        rabbit.delete_user(user)


def test_the_operator_applies_and_the_hub_runs_under_its_own_user(
    access_only: Secured, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator applies the topology; a worker connected as the hub's user routes, judges and
    publishes a partner's filing to the other partner, who reads it, and dead-letters a malformed
    one, which the operator replays as the partner's (judged again: malformed, not wrong_ingress)."""
    secured, users, urls = access_only, access_only.users, access_only.urls
    applied = CliRunner().invoke(main, ["topology", "apply"], env={"HUB_BROKER_URL": urls["operator"]})
    assert applied.exit_code == 0, applied.output
    assert "created" in applied.output
    portal = FakePortal(seed=11, user=users["portal"])
    filing = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    malformed = ingress_message(
        "portal", "dossier.submitted", b"{not json", message_id="bad-1", user_id=users["portal"], timestamp=1
    )
    settings = secured.settings.model_copy(
        update={"database_url": SecretStr(f"sqlite:///{tmp_path / 'h.db'}")}
    )
    hub = app.build(settings)
    assert hub.transport.user == users["hub"]
    worker, stop = hub.worker(), threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        Transport(urls["portal"]).publish_confirmed([filing, malformed])
        assert worker.wait_settled(2, WAIT)
        [delivered] = Transport(urls["onestop"]).take(egress_queue("onestop"), limit=10, partner="onestop")
        assert delivered.properties.headers["x-hub-unit"] == PROVINCE_UNIT
        monkeypatch.setenv("HUB_BROKER_URL", urls["operator"])
        monkeypatch.setenv("HUB_REPLAY_USERS", f'["{users["operator"]}"]')
        replayed = CliRunner().invoke(main, ["dead-letters", "replay", "portal"])
        assert replayed.exit_code == 0, replayed.output
        assert "replayed bad-1 (dead-lettered as malformed_json)" in replayed.output
        assert worker.wait_settled(3, WAIT)
    finally:
        stop.set()
        thread.join(timeout=WAIT)
    assert not thread.is_alive()
    [again] = Transport(urls["operator"]).take(dead_letter_queue("portal"), limit=10, partner="portal")
    assert again.properties.headers[HEADER_REASON] == "malformed_json"  # accepted as the portal's
