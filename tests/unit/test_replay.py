"""Replaying dead letters: once the cause is fixed, an operator sends them through their ingress
again; only operators in ``replay_users`` may, for a user the ingress accepts."""

from __future__ import annotations

from dataclasses import replace

from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.topology import dead_letter_queue, egress_queue
from hub.envelope import HEADER_REASON, HEADER_REPLAYED_FROM_USER
from hub.replay import matching, replay, replayed
from hub.settings import Settings
from tests.helpers import WAIT, running

NEW_UNIT = "000.00.77.H30"


def with_new_unit(settings: Settings) -> Settings:
    unit = settings.agencies[0].model_copy(update={"code": NEW_UNIT, "name": "new unit (sample)"})
    return settings.model_copy(update={"agencies": [*settings.agencies, unit], "replay_users": ["ops"]})


def dead_letter_two(settings: Settings, embedded: str, portal: FakePortal) -> list[str]:
    """Two filings for a unit the registry does not list yet: both dead-lettered unknown_agency."""
    messages = [portal.message("dossier.submitted", portal.dossier_submitted(NEW_UNIT)) for _ in range(2)]
    hub = app.build(settings, embedded=embedded)
    with running(hub) as run:
        hub.transport.publish_confirmed(messages)
        assert run.worker.wait_settled(2, WAIT)
    return [str(m.properties.message_id) for m in messages]


def test_a_replayed_dead_letter_is_judged_again_and_flows_once_its_cause_is_fixed(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    first, second = dead_letter_two(settings, embedded, portal)
    fixed = app.build(with_new_unit(settings), embedded=embedded)
    moved = replay(fixed.transport, "portal", operator="ops", chosen=matching([first], []), limit=10)
    assert [m.properties.message_id for m in moved] == [first]
    with running(fixed) as run:
        assert run.worker.wait_settled(1, WAIT)
    [delivered] = fixed.transport.take(egress_queue("onestop"), limit=10, partner="onestop")
    assert delivered.properties.headers["x-hub-unit"] == NEW_UNIT
    left = fixed.transport.take(dead_letter_queue("portal"), limit=10, partner="portal")
    assert [d.properties.message_id for d in left] == [second]  # not chosen: still there


def test_a_replay_by_someone_not_in_replay_users_is_wrong_ingress(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    dead_letter_two(settings, embedded, portal)
    fixed = app.build(with_new_unit(settings), embedded=embedded)
    replay(fixed.transport, "portal", operator="stranger", chosen=matching([], []), limit=10)
    with running(fixed) as run:
        assert run.worker.wait_settled(2, WAIT)
    letters = fixed.transport.take(dead_letter_queue("portal"), limit=10, partner="portal")
    assert [d.properties.headers[HEADER_REASON] for d in letters] == ["wrong_ingress", "wrong_ingress"]


def test_a_replayed_message_is_the_original_without_the_rejection_headers(
    settings: Settings, embedded: str, portal: FakePortal
) -> None:
    dead_letter_two(settings, embedded, portal)
    hub = app.build(settings, embedded=embedded)
    letter = hub.transport.peek(dead_letter_queue("portal"), limit=1, partner="portal")[0]
    again = replayed(letter, "ops")
    assert (again.exchange, again.routing_key) == ("ingress.portal", "dossier.submitted")
    assert again.properties.user_id == "ops"
    assert again.properties.headers == {"x-contract-version": "1", HEADER_REPLAYED_FROM_USER: "guest"}
    # Everything else as the partner sent it (a dead letter keeps the user in a header, not user_id).
    assert replace(again.properties, user_id=None, headers={}) == replace(letter.properties, headers={})
    assert again.body == letter.body


def test_matching_filters_by_id_and_reason(settings: Settings, embedded: str, portal: FakePortal) -> None:
    first, second = dead_letter_two(settings, embedded, portal)
    letters = app.build(settings, embedded=embedded).transport.peek(dead_letter_queue("portal"), 10, "portal")
    ids = [d.properties.message_id for d in letters]
    assert [d.properties.message_id for d in letters if matching([second], [])(d)] == [second]
    assert [d.properties.message_id for d in letters if matching([], ["unknown_agency"])(d)] == ids
    assert not [d for d in letters if matching([first], ["too_large"])(d)]
    assert [d.properties.message_id for d in letters if matching([], [])(d)] == [first, second]
