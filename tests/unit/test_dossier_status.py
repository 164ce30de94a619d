"""The status table and the step policy: direct transitions only, steps that wait for the ones they
follow, steps refused at once, and the properties over any arrival order."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hub.dossiers.status import (
    ACCEPTED,
    FILED,
    LEGAL,
    STATUSES,
    Link,
    Step,
    admit,
    fold,
    link,
    reachable,
)
from hub.errors import Deferral, Reason, Rejection


@dataclass
class Arrivals:
    """What became of steps offered one by one: admitted (in the order of admission), waiting, refused."""

    status: int
    admitted: list[Step] = field(default_factory=list)
    waiting: list[Step] = field(default_factory=list)
    refused: list[Step] = field(default_factory=list)


def offer(initial: int, arrivals: Arrivals, step: Step) -> bool:
    """``step`` judged against the admitted steps; True when it was admitted now."""
    try:
        arrivals.status = admit(initial, arrivals.admitted, step)
    except Rejection as rejection:
        if rejection.reason is not Reason.INVALID_TRANSITION:
            raise
        (arrivals.waiting if isinstance(rejection, Deferral) else arrivals.refused).append(step)
        return False
    if step in arrivals.admitted:
        return False  # the same step again
    arrivals.admitted.append(step)
    return True


def arrive(initial: int, arrival: list[Step]) -> Arrivals:
    """``arrival`` offered in order; after each admission the waiting steps are offered again until
    none is admitted (the resequencing window, without its end)."""
    arrivals = Arrivals(initial)
    for step in arrival:
        admitted = offer(initial, arrivals, step)
        while admitted:
            waiting, arrivals.waiting = arrivals.waiting, []
            offered = [offer(initial, arrivals, s) for s in waiting]  # every one, no short cut
            admitted = any(offered)
    return arrivals


def assert_each_was_direct_when_admitted(initial: int, admitted: list[Step]) -> None:
    """Replays the admissions: each step went between two statuses it is a direct transition from
    and to, so the history was a chain of the table's transitions at every moment."""
    chain: list[Step] = []
    for step in admitted:
        place = bisect.bisect(chain, step)
        before = chain[place - 1].status if place else initial
        assert step.status in LEGAL[before], (before, step, chain)
        if place < len(chain):
            assert chain[place].status in LEGAL[step.status], (step, chain[place], chain)
        chain.insert(place, step)


def test_the_contract_table_is_encoded() -> None:
    assert LEGAL[1] == {2, 3, 7}
    assert LEGAL[2] == {4, 5, 6, 7}
    assert LEGAL[4] == {4, 5, 6, 7, 8, 9}
    assert LEGAL[5] == LEGAL[6] == {4, 7, 8}
    assert LEGAL[9] == {10}
    assert all(not LEGAL[s] for s in (3, 7, 8, 10))
    assert reachable(1, 10)  # through 2, 4, 9
    assert not reachable(9, 4)
    assert not reachable(10, 10)
    assert (link(2, 4), link(2, 10), link(9, 4), link(4, 4)) == (
        Link.DIRECT,
        Link.LATER,
        Link.NEVER,
        Link.DIRECT,
    )


def test_a_step_that_skips_statuses_waits_and_is_refused_once_they_can_no_longer_come() -> None:
    with pytest.raises(Deferral) as waiting:
        admit(ACCEPTED, [], Step(500, 10))  # 2 -> 10: 4 and 9 may still arrive
    assert waiting.value.reason == Reason.INVALID_TRANSITION
    with pytest.raises(Rejection) as refused:
        admit(ACCEPTED, [Step(100, 7)], Step(500, 10))  # withdrawn first: nothing can lead to 10
    assert not isinstance(refused.value, Deferral)
    assert refused.value.reason == Reason.INVALID_TRANSITION


def test_the_missing_steps_arrive_and_the_waiting_step_applies() -> None:
    assert arrive(ACCEPTED, [Step(500, 10), Step(300, 9), Step(100, 4)]) == Arrivals(
        10, admitted=[Step(100, 4), Step(300, 9), Step(500, 10)]
    )


@pytest.mark.parametrize("terminal", [3, 7, 8, 10])
def test_nothing_follows_a_final_status(terminal: int) -> None:
    path = {3: [Step(10, 3)], 7: [Step(10, 7)], 8: [Step(10, 2), Step(20, 4), Step(30, 8)]}
    history = path.get(terminal, [Step(10, 2), Step(20, 4), Step(30, 9), Step(40, 10)])
    for status in sorted(STATUSES):
        with pytest.raises(Rejection) as refused:
            admit(FILED, history, Step(100, status))
        assert not isinstance(refused.value, Deferral)


def test_a_step_is_judged_against_the_step_after_it_too() -> None:
    history = [Step(100, 4), Step(300, 9)]
    with pytest.raises(Rejection):
        admit(ACCEPTED, history, Step(200, 7))  # 4 -> 7 is legal, 7 -> 9 never
    with pytest.raises(Deferral):
        admit(ACCEPTED, history, Step(200, 5))  # 4 -> 5 is legal, 5 -> 9 once a 4 comes between
    assert admit(ACCEPTED, [*history, Step(250, 4)], Step(200, 5)) == 9


def test_a_late_older_step_never_moves_the_dossier_backwards() -> None:
    assert admit(ACCEPTED, [Step(100, 4), Step(300, 9)], Step(200, 4)) == 9
    result = arrive(ACCEPTED, [Step(300, 9), Step(100, 4)])
    assert (result.status, result.refused) == (9, [])


def test_a_refused_step_says_the_rule_never_the_value() -> None:
    with pytest.raises(Rejection) as caught:
        admit(FILED, [Step(100, 2), Step(200, 4), Step(300, 9), Step(400, 10)], Step(500, 4))
    field_path, _, rule = caught.value.detail.partition(": ")
    assert field_path == "TrangThaiHoSo"
    assert not any(character.isdigit() for character in rule)


def test_the_same_step_twice_changes_nothing() -> None:
    assert admit(FILED, [Step(100, 2)], Step(100, 2)) == 2
    assert arrive(FILED, [Step(100, 2), Step(100, 2)]) == Arrivals(2, admitted=[Step(100, 2)])


def test_a_history_recorded_under_the_earlier_policy_is_read_as_it_was() -> None:
    """That policy let a step skip statuses (2 -> 9); such a history keeps its status, and new
    steps are judged against the steps that applied."""
    assert fold(ACCEPTED, [Step(100, 9), Step(50, 3)]) == (9, [Step(100, 9)])
    assert admit(ACCEPTED, [Step(100, 9)], Step(200, 10)) == 10


def test_a_deferral_is_a_rejection_that_only_messages_still_to_come_can_cure() -> None:
    deferral = Deferral(Reason.UNKNOWN_DOSSIER, "MaHoSo: not known yet")
    assert isinstance(deferral, Rejection)
    assert (deferral.reason, deferral.detail) == (Reason.UNKNOWN_DOSSIER, "MaHoSo: not known yet")
    with pytest.raises(ValueError, match="final"):
        Deferral(Reason.VALIDATION_FAILED, "$.MaHoSo: missing")


# --- properties -------------------------------------------------------------------------------------


@st.composite
def lawful_histories(draw: st.DrawFn) -> tuple[int, list[Step]]:
    """A dossier's steps as they happened: a walk through the table from 1 or 2, every step
    reported, at increasing times (multiples of 10, so other steps fit in between)."""
    initial = draw(st.sampled_from([FILED, ACCEPTED]))
    status, at, walk = initial, 0, []
    for _ in range(draw(st.integers(0, 12))):
        if not LEGAL[status]:
            break
        status = draw(st.sampled_from(sorted(LEGAL[status])))
        at += 10 * draw(st.integers(1, 5))
        walk.append(Step(at, status))
    return initial, walk


@settings(max_examples=500, deadline=None)
@given(history=lawful_histories(), data=st.data())
def test_any_arrival_order_admits_every_step_and_ends_where_time_order_ends(
    history: tuple[int, list[Step]], data: st.DataObject
) -> None:
    initial, steps = history
    in_time_order = arrive(initial, steps)
    assert in_time_order == Arrivals(steps[-1].status if steps else initial, admitted=steps)
    again = data.draw(st.lists(st.sampled_from(steps), max_size=3)) if steps else []
    arrival = data.draw(st.permutations([*steps, *again]))  # some delivered twice
    arrived = arrive(initial, arrival)
    assert (arrived.waiting, arrived.refused) == ([], [])
    assert sorted(arrived.admitted) == steps
    assert arrived.status == in_time_order.status
    assert_each_was_direct_when_admitted(initial, arrived.admitted)


@st.composite
def histories_with_steps_nothing_before_them_leads_to(
    draw: st.DrawFn,
) -> tuple[int, list[Step], list[Step]]:
    """A lawful history, and steps whose status no status the dossier had before their time goes
    to (by the table), let alone through some path."""
    initial, steps = draw(lawful_histories())
    extras = []
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(1, (steps[-1].at if steps else 0) + 20).filter(lambda t: t % 10 != 0))
        before = {initial} | {s.status for s in steps if s.at < at}
        candidates = sorted(s for s in STATUSES if all(s not in LEGAL[b] for b in before))
        assume(candidates)
        extras.append(Step(at, draw(st.sampled_from(candidates))))
    return initial, steps, extras


@settings(max_examples=300, deadline=None)
@given(case=histories_with_steps_nothing_before_them_leads_to(), data=st.data())
def test_a_step_no_path_allows_is_never_admitted_in_any_arrival_order(
    case: tuple[int, list[Step], list[Step]], data: st.DataObject
) -> None:
    initial, steps, extras = case
    arrived = arrive(initial, list(data.draw(st.permutations([*steps, *extras]))))
    assert not set(arrived.admitted) & set(extras)
    assert sorted(arrived.admitted) == steps  # and the lawful steps are not held up by them
    assert arrived.status == (steps[-1].status if steps else initial)


@st.composite
def histories_with_jumps(draw: st.DrawFn) -> tuple[int, list[Step], list[Step]]:
    """A lawful history, and illegal jumps into it: steps that, put in their place by time, are not
    a direct transition from the step before them or to the step after them."""
    initial, steps = draw(lawful_histories())
    jumps = []
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(1, (steps[-1].at if steps else 0) + 20).filter(lambda t: t % 10 != 0))
        place = bisect.bisect(steps, Step(at, 0))
        before = steps[place - 1].status if place else initial
        after = steps[place].status if place < len(steps) else None
        status = draw(st.sampled_from(sorted(STATUSES)))
        assume(status not in LEGAL[before] or (after is not None and after not in LEGAL[status]))
        jumps.append(Step(at, status))
    return initial, steps, jumps


@settings(max_examples=500, deadline=None)
@given(case=histories_with_jumps(), data=st.data())
def test_illegal_jumps_into_a_lawful_history_are_never_admitted(
    case: tuple[int, list[Step], list[Step]], data: st.DataObject
) -> None:
    """The history arrives in any order, then the jumps in any order, each judged against the
    steps around it (a jump that arrives before them is judged against what has arrived: see the
    module's docstring)."""
    initial, steps, jumps = case
    arrival = [*data.draw(st.permutations(steps)), *data.draw(st.permutations(jumps))]
    arrived = arrive(initial, arrival)
    assert sorted(arrived.admitted) == steps
    assert arrived.status == (steps[-1].status if steps else initial)
    assert set(arrived.waiting) | set(arrived.refused) == set(jumps)
    assert not set(arrived.waiting) & set(arrived.refused)
    for jump in jumps:
        place = bisect.bisect(steps, jump)
        links = [link(steps[place - 1].status if place else initial, jump.status)]
        if place < len(steps):
            links.append(link(jump.status, steps[place].status))
        # Waiting only while every broken link may still be mended by steps yet to come.
        assert (jump in arrived.waiting) == (max(links) is Link.LATER)
