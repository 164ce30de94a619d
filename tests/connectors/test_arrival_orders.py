"""The status policy through the pipeline: the one-stop-shop system's lawful histories in any arrival
order, with the messages that must wait tried again as the resequencing window would, reach the
portal as the same statuses as in time order, none of them an illegal transition."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from hub.bus.ingress import ingress_message
from hub.dossiers.status import ACCEPTED, LEGAL, RESULT_READY, RESULT_RETURNED, Step
from hub.envelope import Outbound
from hub.outcomes import Outcome
from hub.settings import Settings
from tests.connectors.harness import InMemoryHub, deferred, egress, forwarded, sample
from tests.unit.test_dossier_status import assert_each_was_direct_when_admitted

TIME_FORMAT = "%Y%m%d%H%M%S"
PROCESSING_STARTS = datetime(2026, 11, 30, 8, 0)  # after the sample's reception on 29 November
FINAL = frozenset(status for status, following in LEGAL.items() if not following)


@dataclass(frozen=True)
class History:
    """One dossier's messages in time order, and the statuses the portal must hear, in time order."""

    code: str
    messages: tuple[tuple[str, dict[str, Any]], ...]  # (kind, body)
    statuses: tuple[int, ...]


@st.composite
def histories(draw: st.DrawFn, code: str) -> History:
    """Received at a counter (2), then a walk through the table: processing steps and, at 4, a
    ``result.ready`` (the step to 9), or at 9 one after the step that recorded it."""
    status, at, ready_sent = ACCEPTED, PROCESSING_STARTS, False
    messages: list[tuple[str, dict[str, Any]]] = [
        ("dossier.received", {**sample("onestop.dossier.received"), "MaHoSo": code})
    ]
    statuses = [ACCEPTED]
    for _ in range(draw(st.integers(2, 12))):
        ready_here = not ready_sent and status in (4, RESULT_READY)
        going_on = sorted(LEGAL[status] - FINAL) + ([0] if ready_here else [])  # 0: result.ready
        ending = sorted(LEGAL[status] & FINAL)
        options = going_on
        # Mostly on: a history that ends at once tells little about arrival orders.
        if ending and (not going_on or draw(st.integers(0, 5)) == 0):
            options = ending
        if not options:
            break
        choice = draw(st.sampled_from(options))
        at += timedelta(minutes=draw(st.integers(1, 90)))
        if choice == 0:
            ready_sent = True
            messages.append(("result.ready", _ready(code, at)))
            if status == 4:
                status = RESULT_READY
                statuses.append(RESULT_READY)
            continue
        status = choice
        statuses.append(status)
        messages.append(("dossier.progress", _step(code, status, at)))
    return History(code, tuple(messages), tuple(statuses))


def _step(code: str, status: int, at: datetime) -> dict[str, Any]:
    body = sample("onestop.dossier.progress")
    return {**body, "MaHoSo": code, "TrangThaiHoSo": status, "ThoiDiemXuLy": at.strftime(TIME_FORMAT)}


def _ready(code: str, at: datetime) -> dict[str, Any]:
    return {**sample("onestop.result.ready"), "MaHoSo": code, "NgayCoKetQua": at.strftime(TIME_FORMAT)}


def deliver_resequenced(
    hub: InMemoryHub, messages: Sequence[Outbound]
) -> tuple[list[Outcome], list[Outbound]]:
    """``messages`` in order; a deferred one waits and is delivered again after each message that
    was admitted, until none of the waiting is (the window, without its end). Returns every
    outcome in order and the messages still waiting."""
    outcomes: list[Outcome] = []
    waiting: list[Outbound] = []
    for message in messages:
        outcome = hub.deliver(message)
        outcomes.append(outcome)
        if deferred(outcome):
            waiting.append(message)
        admitted = forwarded(outcome)
        while admitted:
            again = [(m, hub.deliver(m)) for m in waiting]
            outcomes += [o for _, o in again]
            waiting = [m for m, o in again if deferred(o)]
            admitted = any(forwarded(o) for _, o in again)
    return outcomes, waiting


def may_be_refused(history: History, index: int) -> bool:
    """Whether message ``index`` of a lawful history is one a later message may overtake so that the
    table no longer lets it in (refused, while the portal still hears every status once):

    - a step to 9 and the ``result.ready`` after it: arriving at 4, the result records the step to 9
      itself, and the earlier report of 9 cannot go before it (9 does not go to 9);
    - a ``result.ready`` at 9 and the step to 10 after it: the result was handed over before its
      ``result.ready`` arrived, which is refused at 10 (no order for a result already returned).
    """
    kind, body = history.messages[index]
    later = [(k, b.get("TrangThaiHoSo")) for k, b in history.messages[index + 1 :]]
    if kind == "result.ready":
        return ("dossier.progress", RESULT_RETURNED) in later
    return body["TrangThaiHoSo"] == RESULT_READY and any(k == "result.ready" for k, _ in later)


@hypothesis.settings(
    max_examples=100,
    deadline=None,
    # The fixture only gives read-only settings; each example builds its own hub.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), count=st.integers(1, 3))
def test_any_arrival_order_reaches_the_portal_as_time_order_does(
    settings: Settings, data: st.DataObject, count: int
) -> None:
    codes = [f"000.00.30.H30-261129-{n:04d}" for n in range(1, count + 1)]
    dossiers = [data.draw(histories(code)) for code in codes]
    published = [
        (history, i, _message(kind, body, f"os-{history.code}-{i}"))
        for history in dossiers
        for i, (kind, body) in enumerate(history.messages)
    ]
    in_time_order = InMemoryHub(settings)
    assert all(forwarded(in_time_order.deliver(message)) for _, _, message in published)
    arrival = data.draw(st.permutations(published))
    hub = InMemoryHub(settings)
    outcomes, waiting = deliver_resequenced(hub, [message for _, _, message in arrival])

    assert waiting == []  # nothing waits for ever
    admitted = {o.record.message_id for o in outcomes if forwarded(o)}
    for history, index, message in arrival:
        if message.properties.message_id not in admitted:
            assert may_be_refused(history, index), (history, index)
    records = [r for o in outcomes for r in egress(o, "portal", "CapNhatTienDoHoSoMC")]
    for history in dossiers:
        told = [r for r in records if r["MaHoSo"] == history.code]
        assert told[0]["TrangThai"] == ACCEPTED  # the acceptance at the counter, with the sync
        by_time = sorted(told, key=lambda r: (r["ThoiDiemXuLy"], r["TrangThai"]))
        assert tuple(r["TrangThai"] for r in by_time) == history.statuses
        steps = [Step(int(r["ThoiDiemXuLy"]), r["TrangThai"]) for r in told[1:]]
        assert_each_was_direct_when_admitted(ACCEPTED, steps)  # in the order the portal heard them
        dossier = hub.dossiers.load(history.code)
        assert dossier is not None
        assert dossier.status == history.statuses[-1]


def _message(kind: str, body: dict[str, Any], message_id: str) -> Outbound:
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message("onestop", kind, raw, message_id=message_id, user_id="guest", timestamp=1)
