"""`hub demo --broker`: the same day on RabbitMQ, in a vhost of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import app
from hub.bus.ingress import ingress_message
from hub.bus.topology import ingress_queue
from hub.bus.transport import Transport
from hub.cli import main


def demo(broker_url: str, database: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["demo", "--broker", broker_url, "--count", "40", "--database", str(database)]
    )
    return result.exit_code, result.output


def test_the_day_on_rabbitmq_adds_up(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    code, output = demo(broker_url, tmp_path / "demo.sqlite3")
    assert code == 0, output
    assert "on RabbitMQ at" in output
    assert "guest:guest" not in output
    assert "every message accounted for: yes" in output
    assert "conflicting_duplicate" in output


def test_the_demo_refuses_a_broker_whose_queues_hold_messages_and_leaves_them(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    waiting = ingress_message(
        "portal", "dossier.submitted", b"{}", message_id="left", user_id="guest", timestamp=1
    )
    transport.publish_confirmed([waiting])
    code, output = demo(broker_url, tmp_path / "demo.sqlite3")
    assert code != 0
    assert "hub.ingress.portal: 1" in output
    assert transport.depth(ingress_queue("portal")) == 1
