"""The status table and the out-of-time-order policy, including the property over shuffled arrivals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.dossiers.status import ACCEPTED, FILED, LEGAL, STATUSES, Step, admit, reachable
from hub.errors import Reason, Rejection


def arrive(initial: int, steps: list[Step]) -> tuple[int, list[Step]]:
    """Admit ``steps`` in the order given; returns the final status and the refused steps."""
    accepted: list[Step] = []
    refused: list[Step] = []
    status = initial
    for step in steps:
        try:
            status = admit(initial, accepted, step)
        except Rejection:
            refused.append(step)
        else:
            accepted.append(step)
    return status, refused


def test_the_contract_table_is_encoded() -> None:
    assert LEGAL[1] == {2, 3, 7}
    assert LEGAL[4] == {4, 5, 6, 7, 8, 9}
    assert all(not LEGAL[s] for s in (3, 7, 8, 10))
    assert reachable(1, 10)  # through 2, 4, 9
    assert not reachable(9, 4)
    assert not reachable(10, 10)
    assert reachable(4, 4)


def test_a_late_older_step_never_moves_the_dossier_backwards() -> None:
    status, refused = arrive(ACCEPTED, [Step(300, 9), Step(100, 4)])
    assert (status, refused) == (9, [])


def test_an_impossible_step_is_refused_and_changes_nothing() -> None:
    with pytest.raises(Rejection) as caught:
        admit(FILED, [Step(100, 2), Step(200, 4), Step(300, 9), Step(400, 10)], Step(500, 4))
    assert caught.value.reason == Reason.INVALID_TRANSITION
    assert "4" not in caught.value.detail.split(":")[1]  # the rule, not the value
    assert arrive(FILED, [Step(100, 3), Step(200, 2)]) == (3, [Step(200, 2)])


def test_the_same_step_twice_changes_nothing() -> None:
    assert arrive(FILED, [Step(100, 2), Step(100, 2)]) == (2, [])


@st.composite
def lawful_histories(draw: st.DrawFn) -> tuple[int, list[Step]]:
    """A dossier's steps as they happened: a walk through the legal transitions, some steps of
    which may never be reported (so later ones skip them), with increasing times."""
    initial = draw(st.sampled_from([FILED, ACCEPTED]))
    status, walk = initial, []
    for at in range(draw(st.integers(0, 10))):
        if not LEGAL[status]:
            break
        status = draw(st.sampled_from(sorted(LEGAL[status])))
        walk.append(Step(at * 10, status))
    reported = [step for step in walk if draw(st.booleans()) or step is walk[-1]]
    return initial, reported


@settings(max_examples=500, deadline=None)
@given(history=lawful_histories(), data=st.data())
def test_any_arrival_order_ends_where_time_order_ends(
    history: tuple[int, list[Step]], data: st.DataObject
) -> None:
    initial, steps = history
    in_time_order = arrive(initial, steps)
    assert in_time_order[1] == []
    arrival = data.draw(st.permutations(steps))
    assert arrive(initial, list(arrival)) == in_time_order


@settings(max_examples=200, deadline=None)
@given(history=lawful_histories(), extra=st.sampled_from(sorted(STATUSES)), data=st.data())
def test_a_newest_step_no_path_allows_never_changes_the_outcome(
    history: tuple[int, list[Step]], extra: int, data: st.DataObject
) -> None:
    initial, steps = history
    final, _ = arrive(initial, steps)
    late = Step(1000, extra)
    expected = extra if reachable(final, extra) else final
    arrival = list(data.draw(st.permutations([*steps, late])))
    status, refused = arrive(initial, arrival)
    assert status == expected
    if arrival[-1] == late and not reachable(final, extra):
        assert refused == [late]  # arriving last, it is judged against everything: refused
