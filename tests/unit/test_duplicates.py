"""contract.md, "Duplicates": the same message twice is acknowledged once forwarded; the same
message_id with another body is dead-lettered ``conflicting_duplicate``."""

from __future__ import annotations

from dataclasses import replace

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.topology import dead_letter_queue, egress_queue
from hub.envelope import HEADER_DETAIL, HEADER_REASON
from hub.settings import Settings
from tests.conftest import PROVINCE_UNIT
from tests.helpers import WAIT, running


def outcomes(hub: app.Hub) -> dict[tuple[str, str | None], int]:
    return {(t.outcome, t.reason): t.messages for t in hub.ledger.tally()}


def test_a_message_sent_twice_in_one_burst_is_forwarded_once(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    message = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    hub = app.build(settings, embedded=embedded)
    with running(hub) as run:
        hub.transport.publish_confirmed([message, message])  # the second while the first is in flight
        assert run.worker.wait_settled(2, WAIT)
    assert outcomes(hub) == {("forwarded", None): 1, ("duplicate", None): 1}
    assert len(hub.transport.take(egress_queue("onestop"), limit=10, partner="onestop")) == 1


def test_a_message_sent_again_after_a_restart_is_still_a_duplicate(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    message = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    hub = app.build(settings, embedded=embedded)
    for _ in range(2):  # a new worker each time: the second finds the first in the ledger
        with running(hub) as run:
            hub.transport.publish_confirmed([message])
            assert run.worker.wait_settled(1, WAIT)
    assert outcomes(hub) == {("forwarded", None): 1, ("duplicate", None): 1}
    assert len(hub.transport.take(egress_queue("onestop"), limit=10, partner="onestop")) == 1


def test_the_same_message_id_with_another_body_is_a_conflicting_duplicate(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    first = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    other = portal.message(
        "dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT), message_id=first.properties.message_id
    )
    hub = app.build(settings, embedded=embedded)
    with running(hub) as run:
        hub.transport.publish_confirmed([first, other])
        assert run.worker.wait_settled(2, WAIT)
    assert outcomes(hub) == {("forwarded", None): 1, ("dead_lettered", "conflicting_duplicate"): 1}
    [letter] = hub.transport.take(dead_letter_queue("portal"), limit=10, partner="portal")
    assert letter.body == other.body  # kept whole, for an operator to look at and replay
    assert letter.properties.headers[HEADER_REASON] == "conflicting_duplicate"
    assert letter.properties.headers[HEADER_DETAIL] == (
        "properties.message_id: already used by another message of this partner"
    )


def test_a_dead_lettered_message_sent_again_is_judged_again_not_a_duplicate(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    good = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    bad = replace(good, body=good.body.replace(b'"LoaiDoiTuong": 1', b'"LoaiDoiTuong": 9'))
    hub = app.build(settings, embedded=embedded)
    with running(hub) as run:
        hub.transport.publish_confirmed([bad, good])  # the fixed message reuses the refused one's id
        assert run.worker.wait_settled(2, WAIT)
    assert outcomes(hub) == {("dead_lettered", "validation_failed"): 1, ("forwarded", None): 1}
