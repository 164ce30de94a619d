"""Two contract versions side by side on the real RabbitMQ: the portal files one dossier in version 1
and one in version 2; both reach the one-stop-shop system and the events stream in the same shape."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import kombu
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from pydantic import SecretStr

import connectors
from hub import app
from hub.bus.ingress import ingress_message
from hub.bus.topology import dead_letter_queue
from hub.bus.transport import Transport
from hub.cli import main
from hub.settings import Settings
from tests.helpers import WAIT, opened, running, stored_key
from tests.integration.test_rabbitmq import receive

SAMPLES = Path(connectors.__file__).parent / "samples"
KIND = "dossier.submitted"
FIRST = "000.00.30.H30-261129-0001"  # the version 1 sample's dossier
SECOND = "000.00.30.H30-261129-0002"


def filing(sample: str, message_id: str, version: str, **changes: Any) -> Any:
    body = {**json.loads((SAMPLES / sample).read_text(encoding="utf-8")), **changes}
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message(
        "portal", KIND, raw, message_id=message_id, user_id="guest", timestamp=1, contract_version=version
    )


def stream(url: str, count: int) -> list[Any]:
    """The first ``count`` messages of ``hub.events.log``, waiting at most a few seconds for them."""
    received: list[Any] = []
    deadline = time.monotonic() + 5.0
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        channel.basic_qos(0, count, False)
        first = {"x-stream-offset": "first"}
        queue = kombu.Queue("hub.events.log", no_declare=True, consumer_arguments=first)
        with kombu.Consumer(channel, [queue], on_message=received.append, no_ack=False):
            while len(received) < count and (left := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=left)
    assert len(received) == count
    return received


def by_version(version: str) -> float:
    labels = {"partner": "portal", "kind": KIND, "version": version}
    return REGISTRY.get_sample_value("hub_messages_by_version_total", labels) or 0.0


def test_a_version_1_and_a_version_2_filing_flow_end_to_end_in_the_same_canonical_shape(
    broker_url: str, settings: Settings
) -> None:
    on_rabbit = settings.model_copy(
        update={"broker_url": SecretStr(broker_url), "contract_versions": {"portal": ["1", "2"]}}
    )
    messages = [
        filing(f"portal.{KIND}.json", "p-1", "1"),
        filing(f"portal.{KIND}.v2.json", "p-2", "2", MaHoSo=SECOND),
        filing(f"portal.{KIND}.v2.json", "p-3", "3", MaHoSo="000.00.30.H30-261129-0003"),
    ]
    before = {v: by_version(v) for v in ("1", "2")}
    with running(app.build(on_rabbit)) as run:
        Transport(broker_url).publish_confirmed(messages)
        assert run.worker.wait_settled(len(messages), WAIT)
    assert {v: by_version(v) - before[v] for v in before} == {"1": 1, "2": 1}

    # Both reach the unit in the one-stop-shop system's shape (version 1 field names), alike.
    delivered = receive(broker_url, "egress.onestop", count=3, timeout=2.0)
    bodies = {m.headers["x-hub-source-message-id"]: json.loads(m.body) for m in delivered}
    assert sorted(bodies) == ["p-1", "p-2"]
    assert bodies["p-2"] == {**bodies["p-1"], "MaHoSo": SECOND}
    assert "SoDinhDanhChuHoSo" not in bodies["p-2"]

    # The events stream holds one DossierSubmitted per filing, equal but for the dossier and header.
    # Their personal fields are sealed, each under its own dossier's key: opened to compare them.
    events = []
    for m in stream(broker_url, count=4):  # each filing's event and its collection order
        if m.headers["x-hub-schema"] == "hub.dossier.v1.DossierSubmitted":
            dossier = m.properties["correlation_id"]
            key = stored_key(on_rabbit, dossier)
            assert key is not None
            events.append(opened(dossier, m.body, m.headers, key))
    events.sort(key=lambda event: str(event["header"]["source_message_id"]))  # two partitions: any order
    assert [e["header"]["source_message_id"] for e in events] == ["p-1", "p-2"]
    first, second = ({k: v for k, v in e.items() if k not in {"header", "dossier_code"}} for e in events)
    assert first == second
    assert [e["dossier_code"] for e in events] == [FIRST, SECOND]

    # Version 3 is spoken by nobody: dead-lettered with the versions accepted, nothing forwarded.
    [letter] = receive(broker_url, dead_letter_queue("portal"), count=2, timeout=1.0)
    assert letter.headers["x-hub-reason"] == "unsupported_contract_version"
    assert letter.headers["x-hub-detail"].endswith("(accepted: 1, 2)")


def test_hub_publish_sends_the_contract_version_asked_for(
    broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Transport(broker_url).apply_topology(app.topology())
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    v2 = str(SAMPLES / f"portal.{KIND}.v2.json")
    published = CliRunner().invoke(main, ["publish", "--as", "portal", "--contract-version", "2", KIND, v2])
    assert published.exit_code == 0, published.output
    [message] = receive(broker_url, "hub.ingress.portal", count=2, timeout=1.0)
    assert message.headers["x-contract-version"] == "2"
