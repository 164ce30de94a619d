"""Dossier status (contract.md, "Dossier status") and the policy for steps that arrive late.

Policy. A dossier's status is the result of folding its accepted steps *in time order* (by the
step's own time, not by arrival): a step applies when its status can be reached from the status
before it through the legal transitions, directly or through steps not (yet) seen; otherwise the fold
skips it. An arriving step is accepted when, folded in among the accepted ones, it applies; else it is
refused with ``invalid_transition`` and changes nothing. So:

- a step older than the latest applied one never moves the dossier backwards: it takes its place
  in the history, and the steps after it still decide the current status;
- a step may skip intermediate statuses that are reported late (4 "processing" may follow 1
  "filed" when 2 "accepted" has not arrived yet);
- a step that no path allows (anything after 3, 7, 8 or 10; 9 back to 4) is refused;
- whatever the arrival order of a dossier's lawful steps, the final status equals the one reached
  in time order, and a step that no path allows is refused in any order (property-based tests).

Where steps that contradict each other in time order arrive out of order, each is judged against
the steps known when it arrives: refusing is final ("changes nothing"), so such a mix can end
differently than in time order. No irrevocable policy can avoid that; the dead letters show it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from hub.errors import Reason, Rejection

FILED = 1
ACCEPTED = 2
WITHDRAWN = 7
RESULT_READY = 9
RESULT_RETURNED = 10

LEGAL: Mapping[int, frozenset[int]] = {
    1: frozenset({2, 3, 7}),
    2: frozenset({4, 5, 6, 7}),
    3: frozenset(),
    4: frozenset({4, 5, 6, 7, 8, 9}),
    5: frozenset({4, 7, 8}),
    6: frozenset({4, 7, 8}),
    7: frozenset(),
    8: frozenset(),
    9: frozenset({10}),
    10: frozenset(),
}
STATUSES = frozenset(LEGAL)


@cache
def reachable(source: int, target: int) -> bool:
    """True when ``target`` follows ``source`` through one or more legal transitions."""
    seen: set[int] = set()
    frontier = set(LEGAL[source])
    while frontier:
        status = frontier.pop()
        if status == target:
            return True
        seen.add(status)
        frontier |= LEGAL[status] - seen
    return False


@dataclass(frozen=True, order=True)
class Step:
    """One status change, ordered by its own time (milliseconds), then by status."""

    at: int
    status: int


def fold(initial: int, steps: Iterable[Step]) -> tuple[int, list[Step]]:
    """The status after ``steps`` in time order from ``initial``, and the steps that applied."""
    status, applied = initial, []
    for step in sorted(steps):
        if reachable(status, step.status):
            status = step.status
            applied.append(step)
    return status, applied


def admit(initial: int, accepted: Iterable[Step], step: Step) -> int:
    """The status once ``step`` joins the ``accepted`` ones; raises ``invalid_transition`` when it
    would not apply (the caller then records nothing)."""
    history = set(accepted)
    if step in history:
        return fold(initial, history)[0]  # the same step again: nothing changes
    status, applied = fold(initial, history | {step})
    if step not in applied:
        raise Rejection(
            Reason.INVALID_TRANSITION,
            "TrangThaiHoSo: not reachable from the dossier's status at that time",
        )
    return status
