"""Personal data sealed everywhere the hub keeps it, on the real RabbitMQ and PostgreSQL (issue 13).

Canary values sent through the flows (a filing, the post's tracking notes, a withdrawal's reason, a
step that must wait, a rejected filing) never appear in clear in ``hub.events.log`` (read from outside
the hub) or in any table of the store. Parked and dead-letter bodies are the partner's own message,
kept for replay as it came (docs/audit.md, "Where personal data is kept"): the sweep checks that they
are exactly the bytes the partner published, with no canary in their headers. Forgetting the dossier
makes its events and its audit entries unreadable: ``hub events open`` then fails, saying so.
"""

from __future__ import annotations

import time
from typing import Any

import kombu
from click.testing import CliRunner, Result
from pydantic import SecretStr

from hub import app
from hub.audit.query import FORGOTTEN
from hub.bus.topology import EVENTS_LOG, dead_letter_queue, park_queue
from hub.bus.transport import Transport
from hub.cli_events import events
from hub.envelope import Outbound
from hub.settings import Settings
from tests.helpers import WAIT, running, stored_key
from tests.integration.test_audit_queries_postgres import dump
from tests.integration.test_rabbitmq import receive
from tests.unit.test_audit_queries import (
    CANARIES,
    CANARY_ID,
    CANARY_NAME,
    ONLINE,
    canary_filing,
    invoke,
    json_lines,
    sample_message,
)

CANARY_NOTE = "left with neighbour Wombat Canarybell"  # the post's free-text notes
CANARY_REASON = "Quokka moves to Canaryville"  # a withdrawal's free-text reason
CANARY_STEP = "Platypus Canaryfeather checked the papers"  # a processing step's free text
FREE_TEXT = (CANARY_NOTE, CANARY_REASON, CANARY_STEP)
WAITING = "000.00.30.H30-261129-0077"  # no dossier has this code: its step is parked
SEALED = f"hub-sealed:v1:{ONLINE}:"


def rounds() -> list[list[Outbound]]:
    """Each round settles before the next: the post answers the collection order of the first."""
    return [
        [
            canary_filing("p-1"),
            canary_filing("p-2", phone="12"),  # validation_failed: dead-lettered with the canaries
            sample_message("onestop", "dossier.progress", "os-1", MaHoSo=WAITING, NoiDungXuLy=CANARY_STEP),
        ],
        [
            sample_message(
                "postal",
                "shipment.status",
                "post-1",
                OrderNumber=f"{ONLINE}/TG",
                StatusCode=6,
                CODAmount=None,
                Notes=CANARY_NOTE,
            )
        ],
        [sample_message("portal", "dossier.withdrawn", "p-3", LyDo=CANARY_REASON)],
    ]


def everything_on(url: str, stream: str) -> list[Any]:
    """Every message of ``stream`` from its first offset, read until it is quiet for a second."""
    received: list[Any] = []
    deadline = time.monotonic() + WAIT
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 100, False)
        queue = kombu.Queue(stream, no_declare=True, consumer_arguments={"x-stream-offset": "first"})

        def take(message: Any) -> None:
            received.append(message)
            message.ack()

        with kombu.Consumer(channel, [queue], on_message=take, no_ack=False):
            while (left := deadline - time.monotonic()) > 0:
                try:
                    connection.drain_events(timeout=min(left, 1.0))
                except TimeoutError:
                    break
    return received


def open_events(settings: Settings, dossier: str) -> Result:
    return CliRunner().invoke(events, ["open", "--dossier", dossier, "--idle-seconds", "1"], obj=settings)


def test_personal_data_is_sealed_on_the_stream_and_in_the_store_and_forgetting_reaches_both(
    broker_url: str, postgres_url: str, settings: Settings
) -> None:
    hub_settings = settings.model_copy(
        update={
            "broker_url": SecretStr(broker_url),
            "database_url": SecretStr(postgres_url),
            "park_retry_seconds": 600.0,  # the parked step stays in its park queue while swept
        }
    )
    published: list[Outbound] = []
    with running(app.build(hub_settings)) as run:
        for messages in rounds():
            Transport(broker_url).publish_confirmed(messages)
            published += messages
            assert run.worker.wait_settled(len(published), WAIT)
    canaries = (*CANARIES, *FREE_TEXT)

    # The stream, read from outside: every personal value sealed, none in clear.
    stream = everything_on(broker_url, EVENTS_LOG)
    mine = [m for m in stream if m.properties["correlation_id"] == ONLINE]
    assert {m.headers["x-hub-schema"] for m in mine} >= {
        "hub.dossier.v1.DossierSubmitted",
        "hub.postal.v1.ShipmentStatusChanged",
        "hub.dossier.v1.DossierWithdrawn",
    }
    bodies = b"".join(m.body for m in stream)
    assert SEALED.encode() in bodies
    assert [c for c in canaries if c.encode() in bodies] == []

    # The store: no canary in any table (the audit log and the dossiers seal them too).
    dumped = dump(postgres_url)
    assert ONLINE.encode() in dumped
    assert [c for c in canaries if c.encode() in dumped] == []

    # Parked and dead letters: the partner's own bytes, kept for replay; nothing in their headers.
    [parked] = receive(broker_url, park_queue("onestop"), count=2, timeout=2.0)
    [dead] = receive(broker_url, dead_letter_queue("portal"), count=2, timeout=2.0)
    assert parked.body == published[2].body
    assert CANARY_STEP.encode() in parked.body
    assert dead.body == published[1].body
    assert CANARY_NAME.encode() in dead.body
    headers = repr([parked.headers, dead.headers])
    assert [c for c in canaries if c in headers] == []

    # The hub opens the events for whoever needs the clear values, and records the access.
    before = open_events(hub_settings, ONLINE)
    assert before.exit_code == 0, before.output
    assert all(c in before.stdout for c in (CANARY_NAME, CANARY_ID, CANARY_NOTE, CANARY_REASON))
    trail = json_lines(invoke(hub_settings, "trail", ONLINE, "--json").stdout)
    assert [e["entry"] for e in trail].count("opened") == 1

    # Forgotten: the events no longer open, through the hub or with any key it has; nor the audit.
    assert invoke(hub_settings, "forget", ONLINE).exit_code == 0
    after = open_events(hub_settings, ONLINE)
    assert after.exit_code == 1
    assert f"dossier {ONLINE} was forgotten" in after.output
    assert CANARY_NAME not in after.output
    assert stored_key(hub_settings, ONLINE) is None
    revealed = json_lines(invoke(hub_settings, "trail", ONLINE, "--reveal", "--json").stdout)
    assert revealed[0]["payload"]["ChuHoSo"] == FORGOTTEN
    assert not any(c in repr(revealed) for c in canaries)
