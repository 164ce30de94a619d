"""The park over the embedded broker: a step that overtakes its dossier waits and then applies; one
whose dossier never comes is dead-lettered with its reason once the window ends."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from connectors.onestop.fake import FakeOnestop
from hub import app
from hub.bus.topology import dead_letter_queue, egress_queue
from hub.envelope import HEADER_REASON
from hub.settings import Settings
from hub.store.ledger import message_log
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT, eventually, running


def outcomes_of(hub: app.Hub, message_id: str) -> list[str]:
    query = select(message_log.c.outcome).where(message_log.c.message_id == message_id)
    with hub.ledger.engine.connect() as connection:
        return [str(row) for row in connection.execute(query.order_by(message_log.c.id)).scalars()]


def test_a_step_before_its_dossier_waits_in_the_park_then_applies_in_order(
    settings: Settings, embedded: str
) -> None:
    quick = settings.model_copy(update={"park_retry_seconds": 0.2})
    onestop = FakeOnestop(seed=3)
    (_, received), (_, step) = onestop.received_with_steps(PROVINCE_UNIT, (4,))
    early = onestop.message("dossier.progress", step)
    filing = onestop.message("dossier.received", received)
    with running(app.build(quick, embedded=embedded)) as run:
        run.hub.transport.publish_confirmed([early])
        assert run.worker.wait_settled(1, WAIT)  # parked: acknowledged with its ledger row
        assert outcomes_of(run.hub, str(early.properties.message_id)) == ["parked"]
        run.hub.transport.publish_confirmed([filing])
        # The filing's two records, then the step's once it came back from the park and applied.
        assert eventually(lambda: run.hub.transport.depth(egress_queue("portal")) == 3)
        portal = run.hub.transport.take(egress_queue("portal"), limit=10)
        assert run.hub.transport.depth(dead_letter_queue("onestop")) == 0
    statuses = [(d.routing_key, json.loads(d.body).get("TrangThai")) for d in portal]
    assert statuses == [("DongBoHoSoMC", None), ("CapNhatTienDoHoSoMC", 2), ("CapNhatTienDoHoSoMC", 4)]
    assert outcomes_of(run.hub, str(early.properties.message_id)) == ["parked", "forwarded"]


def test_a_step_whose_dossier_never_comes_is_dead_lettered_when_the_window_ends(
    settings: Settings, embedded: str
) -> None:
    window = 1.0
    quick = settings.model_copy(update={"park_retry_seconds": 0.1, "park_window_seconds": window})
    onestop = FakeOnestop(seed=4)
    (_, _received), (_, step) = onestop.received_with_steps(PROVINCE_UNIT, (4,))
    orphan = onestop.message("dossier.progress", step)
    with running(app.build(quick, embedded=embedded)) as run:
        started = time.monotonic()
        run.hub.transport.publish_confirmed([orphan])
        # Parked, tried again every 0.1 s, refused when the window ends.
        assert eventually(lambda: run.hub.transport.depth(dead_letter_queue("onestop")) == 1, WAIT + window)
        waited = time.monotonic() - started
        dead = run.hub.transport.take(dead_letter_queue("onestop"), limit=5)
    assert waited >= window
    assert [d.properties.headers[HEADER_REASON] for d in dead] == ["unknown_dossier"]
    assert dead[0].properties.user_id is None  # the partner's user moved to a header, as always
    # One row when it first waited (re-parking writes none), one when it was refused.
    assert outcomes_of(run.hub, str(orphan.properties.message_id)) == ["parked", "dead_lettered"]
