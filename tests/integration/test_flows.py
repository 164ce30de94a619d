"""Flows 2 and 3 end to end over the real RabbitMQ: onestop publishes, the portal reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

import connectors
from hub import app
from hub.bus.transport import Transport
from hub.envelope import ingress_message
from hub.settings import Settings
from tests.conftest import sample_agencies
from tests.helpers import WAIT, running
from tests.integration.test_rabbitmq import receive

SAMPLES = Path(connectors.__file__).parent / "samples"


def onestop_message(kind: str, message_id: str) -> Any:
    body = (SAMPLES / f"onestop.{kind}.json").read_bytes()
    return ingress_message("onestop", kind, body, message_id=message_id, user_id="guest", timestamp=1)


def test_a_counter_filing_and_its_step_reach_the_portal_in_order(broker_url: str, settings: Settings) -> None:
    on_rabbit = settings.model_copy(
        update={"broker_url": SecretStr(broker_url), "agencies": sample_agencies()}
    )
    with running(app.build(on_rabbit)) as run:
        Transport(broker_url).publish_confirmed(
            [onestop_message("dossier.received", "os-1"), onestop_message("dossier.progress", "os-2")]
        )
        assert run.worker.wait_settled(2, WAIT)
        delivered = receive(broker_url, "egress.portal", count=4, timeout=2.0)
    assert [m.properties["type"] for m in delivered] == [
        "DongBoHoSoMC",
        "CapNhatTienDoHoSoMC",
        "CapNhatTienDoHoSoMC",
    ]
    assert [json.loads(m.body).get("TrangThai") for m in delivered[1:]] == [2, 4]
    assert [m.headers["x-hub-source-message-id"] for m in delivered] == ["os-1", "os-1", "os-2"]
    assert {m.properties["correlation_id"] for m in delivered} == {"000.00.30.H30-261129-0002"}
