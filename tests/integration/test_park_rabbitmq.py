"""The park on RabbitMQ: a step that overtakes its dossier waits in hub.park.<partner> (the broker's
TTL and at-least-once dead-lettering bring it back to its partition), shows in `hub parked show`,
and applies once its dossier is known; nothing reaches the dead letters."""

from __future__ import annotations

import json

from click.testing import CliRunner
from pydantic import SecretStr

from connectors.onestop.fake import FakeOnestop
from hub import app
from hub.bus.topology import dead_letter_queue, egress_queue, park_queue
from hub.cli import main
from hub.settings import Settings
from tests.conftest import PROVINCE_UNIT
from tests.helpers import eventually, running

RETRY_SECONDS = 2.0


def test_a_step_waits_in_the_park_shows_to_operators_and_applies_once_its_dossier_comes(
    broker_url: str, settings: Settings
) -> None:
    on_rabbit = settings.model_copy(
        update={"broker_url": SecretStr(broker_url), "park_retry_seconds": RETRY_SECONDS}
    )
    onestop = FakeOnestop(seed=21)
    (_, received), (_, step) = onestop.received_with_steps(PROVINCE_UNIT, (4,))
    early = onestop.message("dossier.progress", step)
    with running(app.build(on_rabbit)) as run:
        transport = run.hub.transport
        transport.publish_confirmed([early])
        assert eventually(lambda: transport.depth(park_queue("onestop")) == 1)
        shown = CliRunner().invoke(main, ["parked", "show", "onestop"], env={"HUB_BROKER_URL": broker_url})
        assert shown.exit_code == 0, shown.output
        assert str(early.properties.message_id) in shown.output
        assert "unknown_dossier" in shown.output  # the reason it would get when the window ends
        transport.publish_confirmed([onestop.message("dossier.received", received)])
        assert eventually(lambda: transport.depth(egress_queue("portal")) == 3, 4 * RETRY_SECONDS + 10)
        portal = transport.take(egress_queue("portal"), limit=10)
        assert transport.depth(dead_letter_queue("onestop")) == 0
        assert transport.depth(park_queue("onestop")) == 0
    statuses = [json.loads(d.body).get("TrangThai") for d in portal]
    assert statuses == [None, 2, 4]  # the dossier, its receipt, then the step that had waited
