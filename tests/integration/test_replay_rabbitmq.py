"""Replaying a dead letter on RabbitMQ as a real operator user, through ``hub dead-letters replay``:
the broker stamps the operator as user_id, the hub accepts the replay for the partner's user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.transport import Transport
from hub.cli import main
from hub.settings import Settings
from tests import rabbit
from tests.helpers import WAIT, running
from tests.integration.test_rabbitmq import on_rabbit, receive, vhost_of

NEW_UNIT = "000.00.77.H30"


@pytest.fixture
def operator(broker_url: str) -> Iterator[tuple[str, str]]:
    """An operator's broker user on the test's vhost: (name, its URL)."""
    name = f"ops-{uuid.uuid4().hex[:8]}"
    rabbit.create_user(name, "ops-pass", vhost_of(broker_url))
    yield name, broker_url.replace("guest:guest@", f"{name}:ops-pass@")
    rabbit.delete_user(name)


def test_an_operator_replays_a_dead_letter_once_the_registry_is_fixed(
    broker_url: str,
    settings: Settings,
    portal: FakePortal,
    operator: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, operator_url = operator
    strict = on_rabbit(settings, broker_url).model_copy(
        update={"ingress_users": {"portal": ["guest"]}, "replay_users": [name]}
    )
    filing = portal.message("dossier.submitted", portal.dossier_submitted(NEW_UNIT))
    with running(app.build(strict)) as run:
        Transport(broker_url).publish_confirmed([filing])
        assert run.worker.wait_settled(1, WAIT)  # dead-lettered: unknown_agency
    unit = strict.agencies[0].model_copy(update={"code": NEW_UNIT, "name": "new unit (sample)"})
    fixed = strict.model_copy(update={"agencies": [*strict.agencies, unit]})
    monkeypatch.setenv("HUB_BROKER_URL", operator_url)
    with running(app.build(fixed)) as run:
        replayed = CliRunner().invoke(main, ["dead-letters", "replay", "portal"])
        assert replayed.exit_code == 0, replayed.output
        assert f"replayed {filing.properties.message_id} (dead-lettered as unknown_agency)" in replayed.output
        assert run.worker.wait_settled(1, WAIT)
        [delivered] = receive(broker_url, "egress.onestop", count=1, timeout=WAIT)
    assert delivered.headers["x-hub-unit"] == NEW_UNIT
    assert receive(broker_url, "hub.dead.portal", count=1, timeout=0.5) == []
