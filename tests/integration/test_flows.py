"""Every flow of the contract end to end over the real RabbitMQ: partners publish on their ingress,
the hub carries, the receiving partners read their egress queues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

import connectors
from hub import app
from hub.bus.ingress import ingress_message
from hub.bus.transport import Transport
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


def sample_message(partner: str, kind: str, message_id: str, **changes: Any) -> Any:
    body = {**json.loads((SAMPLES / f"{partner}.{kind}.json").read_text(encoding="utf-8")), **changes}
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message(partner, kind, raw, message_id=message_id, user_id="guest", timestamp=1)


def carried(broker_url: str, settings: Settings, *rounds: list[Any]) -> None:
    """Each round of messages published and settled before the next (the next may answer it)."""
    on_rabbit = settings.model_copy(update={"broker_url": SecretStr(broker_url)})
    with running(app.build(on_rabbit)) as run:
        published = 0
        for messages in rounds:
            Transport(broker_url).publish_confirmed(messages)
            published += len(messages)
            assert run.worker.wait_settled(published, WAIT)


def exactly(broker_url: str, queue: str, count: int) -> list[Any]:
    """The ``count`` messages on ``queue``, after checking that no more arrive within a second."""
    delivered = receive(broker_url, queue, count=count + 1, timeout=1.0)
    assert len(delivered) == count
    return delivered


ONLINE = "000.00.30.H30-261129-0001"  # the portal sample: collection requested, result by post
AT_COUNTER = "000.00.30.H30-261129-0002"  # the onestop sample: result by post


def test_flow_1_an_online_filing_reaches_the_unit_and_its_collection_the_post(
    broker_url: str, settings: Settings
) -> None:
    carried(broker_url, settings, [sample_message("portal", "dossier.submitted", "p-1")])
    [filed] = exactly(broker_url, "egress.onestop", 1)
    assert filed.headers["x-hub-unit"] == "000.00.30.H30"
    [order] = exactly(broker_url, "egress.postal", 1)
    assert (order.properties["type"], order.properties["correlation_id"]) == ("order.create", ONLINE)
    assert (order.headers["x-contract-version"], order.headers["x-hub-source-message-id"]) == ("1", "p-1")
    assert json.loads(order.body)["OrderNumber"] == f"{ONLINE}/TG"


def test_flow_4_and_7_a_result_by_post_is_ordered_delivered_with_its_cod_and_reported(
    broker_url: str, settings: Settings
) -> None:
    counter = [
        onestop_message("dossier.received", "os-1"),
        sample_message("onestop", "dossier.progress", "os-2"),
        sample_message("onestop", "dossier.progress", "os-3", TrangThaiHoSo=9, ThoiDiemXuLy="20261203140000"),
        sample_message("onestop", "result.ready", "os-4"),
    ]
    carried(broker_url, settings, counter, [sample_message("postal", "shipment.status", "post-1")])
    [order] = exactly(broker_url, "egress.postal", 1)
    assert json.loads(order.body)["OrderNumber"] == f"{AT_COUNTER}/KQ"
    assert json.loads(order.body)["CODAmount"] == 8000
    [delivery] = exactly(broker_url, "egress.onestop", 1)
    assert delivery.properties["type"] == "result.delivery"
    assert json.loads(delivery.body)["TrangThai"] == "DELIVERED"
    assert json.loads(delivery.body)["CODDaThu"] == 8000
    progress = exactly(broker_url, "egress.portal", 5)  # sync, acceptance, 4, 9, then 10
    assert [json.loads(m.body).get("TrangThai") for m in progress[1:]] == [2, 4, 9, 10]
    assert progress[-1].headers["x-hub-source-message-id"] == "post-1"


def test_flow_5_the_post_collects_and_the_unit_hears_of_it(broker_url: str, settings: Settings) -> None:
    collected = sample_message(
        "postal", "shipment.status", "post-1", OrderNumber=f"{ONLINE}/TG", StatusCode=6, CODAmount=None
    )
    carried(broker_url, settings, [sample_message("portal", "dossier.submitted", "p-1")], [collected])
    filed, pickup = exactly(broker_url, "egress.onestop", 2)
    assert (filed.properties["type"], pickup.properties["type"]) == ("dossier.submitted", "pickup.status")
    assert json.loads(pickup.body)["TrangThai"] == "COLLECTED"
    [progress] = exactly(broker_url, "egress.portal", 1)
    assert json.loads(progress.body)["NoiDungXuLy"] == "Bưu điện đã thu gom hồ sơ giấy"


def test_flow_6_a_withdrawal_reaches_the_unit_and_cancels_the_collection(
    broker_url: str, settings: Settings
) -> None:
    carried(
        broker_url,
        settings,
        [sample_message("portal", "dossier.submitted", "p-1")],
        [sample_message("portal", "dossier.withdrawn", "p-2")],
    )
    types = [m.properties["type"] for m in exactly(broker_url, "egress.onestop", 2)]
    assert types == ["dossier.submitted", "dossier.withdrawn"]
    order, cancel = exactly(broker_url, "egress.postal", 2)
    assert (order.properties["type"], cancel.properties["type"]) == ("order.create", "order.cancel")
    assert json.loads(cancel.body)["OrderNumber"] == f"{ONLINE}/TG"


def test_flow_7_an_online_payment_reaches_the_unit(broker_url: str, settings: Settings) -> None:
    carried(
        broker_url,
        settings,
        [sample_message("portal", "dossier.submitted", "p-1", YeuCauThuGom=False)],
        [sample_message("portal", "payment.completed", "p-2")],
    )
    _filed, paid = exactly(broker_url, "egress.onestop", 2)
    assert paid.properties["type"] == "payment.completed"
    assert paid.headers["x-hub-unit"] == "000.00.30.H30"
    assert paid.properties["correlation_id"] == ONLINE
