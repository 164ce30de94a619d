"""The ledger checker itself, on made-up observations: each verdict catches what it names. No
services needed, so these run in every pytest run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from hub.envelope import HEADER_REASON, HEADER_SOURCE_MESSAGE_ID
from tests.faults.broker import Received
from tests.faults.checker import Figures, LedgerRow, Observed, Timings, judge
from tests.faults.load import Planned, Result, plan

PLANNED = plan(dossiers=2, portal_filings=1)
STEP = next(p for p in PLANNED if p.message.routing_key == "dossier.progress")
TIMINGS = Timings(parked_peak=0, recover_s=1.0, drain_s=2.0)
Spoil = Callable[[Observed], Observed]


def output(queue: str, source: str, index: int) -> Received:
    return Received(queue, f"hub-{source}-{index}", {HEADER_SOURCE_MESSAGE_ID: source})


def carried(planned: list[Planned]) -> Observed:
    """What a sound hub leaves: one forwarded row per message, its partner outputs on egress and
    one canonical event each."""
    rows = [LedgerRow(p.partner, p.message_id, "forwarded", None, p.egress + 1) for p in planned]
    egress = [output("egress", p.message_id, n) for p in planned for n in range(p.egress)]
    events = [output("hub.events.log", p.message_id, 99) for p in planned]
    return Observed(rows, egress, events, dead=[])


def without_outputs(observed: Observed, source: str) -> Observed:
    def others(messages: list[Received]) -> list[Received]:
        return [m for m in messages if m.headers[HEADER_SOURCE_MESSAGE_ID] != source]

    return replace(observed, egress=others(observed.egress), events=others(observed.events))


def judged(observed: Observed, attempts: dict[str, list[Result]] | None = None) -> Figures:
    sent = attempts or {p.message_id: ["ok"] for p in PLANNED}
    return judge("test", planned=PLANNED, attempts=sent, observed=observed, timings=TIMINGS, hubs_alive=True)


def test_a_sound_run_has_no_problems() -> None:
    figures = judged(carried(PLANNED))
    assert figures.problems() == []
    assert (figures.published, figures.ledger_rows, figures.lost) == (len(PLANNED), len(PLANNED), 0)


def test_redeliveries_recorded_as_duplicates_and_outputs_repeated_with_their_id_are_fine() -> None:
    observed = carried(PLANNED)
    again = replace(observed.rows[0], outcome="duplicate", outputs=0)
    observed = replace(observed, rows=[*observed.rows, again], egress=[*observed.egress, observed.egress[0]])
    retried: dict[str, list[Result]] = {p.message_id: ["ok"] for p in PLANNED}
    retried[PLANNED[0].message_id] = ["unknown", "ok"]
    figures = judged(observed, retried)
    assert figures.problems() == []
    assert (figures.duplicate_rows, figures.repeated_egress_ids, figures.attempts_unknown) == (1, 1, 1)


SPOILS: list[tuple[Spoil, str]] = [
    (lambda o: replace(o, rows=o.rows[1:]), "lost=1"),
    (lambda o: replace(o, rows=[*o.rows, o.rows[0]]), "effective_duplicates=1"),
    (lambda o: replace(o, egress=o.egress[1:]), "missing_outputs=1"),
    (lambda o: replace(o, events=o.events[1:]), "missing_outputs=1"),
    (lambda o: replace(o, egress=[*o.egress, replace(o.egress[0], message_id="hub-new")]), "stray_outputs=1"),
    (lambda o: replace(o, rows=[*o.rows, LedgerRow("portal", "x", "forwarded", None, 0)]), "stray_rows=1"),
]


@pytest.mark.parametrize(("spoil", "problem"), SPOILS)
def test_each_way_to_lose_or_repeat_work_is_caught(spoil: Spoil, problem: str) -> None:
    assert problem in judged(spoil(carried(PLANNED))).problems()


def test_a_lawful_step_refused_is_caught() -> None:
    observed = without_outputs(carried(PLANNED), STEP.message_id)
    rows = [
        replace(r, outcome="dead_lettered", reason="unknown_dossier", outputs=0)
        if r.message_id == STEP.message_id
        else r
        for r in observed.rows
    ]
    letter = Received("hub.dead.onestop", STEP.message_id, {HEADER_REASON: "unknown_dossier"})
    figures = judged(replace(observed, rows=rows, dead=[letter]))
    assert {"refused=1", "dead_lettered=1"} <= set(figures.problems())


def test_a_message_the_broker_gave_up_on_is_caught() -> None:
    letter = Received("hub.dead.onestop", PLANNED[0].message_id, {"x-death": [{"count": 20}]})
    figures = judged(replace(carried(PLANNED), dead=[letter]))
    assert "broker_dead_letters=1" in figures.problems()


def test_a_message_never_confirmed_is_not_counted_as_published() -> None:
    unconfirmed = PLANNED[-1].message_id
    observed = without_outputs(carried(PLANNED), unconfirmed)
    observed = replace(observed, rows=[r for r in observed.rows if r.message_id != unconfirmed])
    attempts: dict[str, list[Result]] = {p.message_id: ["ok"] for p in PLANNED}
    attempts[unconfirmed] = ["unknown"]
    figures = judged(observed, attempts)
    assert (figures.published, figures.lost) == (len(PLANNED) - 1, 0)
    assert figures.problems() == []
