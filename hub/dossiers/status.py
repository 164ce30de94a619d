"""Dossier status (contract.md, "Dossier status") and the policy that admits a dossier's steps.

Policy. A dossier's history is its initial status (1 filed online, 2 received at a counter) followed
by its applied steps in the order of their own times (not of their arrival). The history is always
a chain of *direct* transitions of the contract's table: each step's status is one the status before
it may go to. An arriving step takes its place by its time, between the status before it (the
applied step before it, or the initial status) and the applied step after it, if any. Only those two
links are new, and each is judged:

- both links are transitions of the table: the step is admitted. The status is the latest step's, so
  a step older than the latest takes its place in the history and leaves the status where it is;
- a link is not a transition, but its later status can be reached from its earlier one through the
  table: steps that have not arrived yet may go in between, so the step must wait (``Deferral``; it is
  dead-lettered ``invalid_transition`` if they have not arrived when its window ends);
- a link's later status cannot be reached from its earlier one (anything after 3, 7, 8 or 10; 9 back
  to 4; 2 again): the step is refused at once (``Rejection``, ``invalid_transition``). A refusal wins
  over waiting: one link no step can repair is enough;
- the same step again (same time, same status) changes nothing.

Refusing at once is sound because applied steps are never undone and a step still to come can only
go in between two of them: a link whose later status is unreachable from its earlier one stays
unreachable whatever arrives. Waiting is enough: whatever the arrival order of a lawful history's
steps (a walk through the table, in time order), if the waiting steps are tried again after each
admission, every step is admitted, each from a status the table allows, and the status ends where
time order ends (property-tested in tests/unit/test_dossier_status.py).

Each step is judged against the steps applied when it arrives. So where a step that contradicts a
lawful history arrives before the steps around it, it may be admitted and they refused: no policy
that never undoes a step can avoid that, and the dead letters show it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from hub.errors import Deferral, Reason, Rejection

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

WAITING = "TrangThaiHoSo: the status table allows it only with steps in between that have not arrived"
NEVER = "TrangThaiHoSo: the status table allows no path from the status before it or to the one after it"


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


class Link(IntEnum):
    """How one status may follow another; a higher value is worse."""

    DIRECT = 0  # a transition of the table
    LATER = 1  # only through statuses of steps that have not arrived
    NEVER = 2  # through no statuses at all


def link(earlier: int, later: int) -> Link:
    if later in LEGAL[earlier]:
        return Link.DIRECT
    return Link.LATER if reachable(earlier, later) else Link.NEVER


def fold(initial: int, steps: Iterable[Step]) -> tuple[int, list[Step]]:
    """The status after ``steps`` in time order from ``initial``, and the steps that applied.

    For a history this policy admitted every step applies and the status is the latest step's.
    Steps recorded under the earlier policy (which let a step skip statuses) are read the way that
    policy read them: a step applies when its status can be reached from the status before it.
    """
    status, applied = initial, []
    for step in sorted(steps):
        if reachable(status, step.status):
            status = step.status
            applied.append(step)
    return status, applied


def admit(initial: int, accepted: Iterable[Step], step: Step) -> int:
    """The status once ``step`` joins the ``accepted`` ones (the module's policy).

    Raises ``Deferral`` (``invalid_transition``) when the step may apply once missing steps arrive,
    ``Rejection`` (``invalid_transition``) when it never can; the caller then records nothing.
    """
    known = set(accepted)
    status, history = fold(initial, known)
    if step in known:
        return status  # the same step again: nothing changes
    place = bisect.bisect(history, step)
    before = history[place - 1].status if place else initial
    links = [link(before, step.status)]
    if place < len(history):
        links.append(link(step.status, history[place].status))
    worst = max(links)
    if worst is Link.NEVER:
        raise Rejection(Reason.INVALID_TRANSITION, NEVER)
    if worst is Link.LATER:
        raise Deferral(Reason.INVALID_TRANSITION, WAITING)
    return step.status if place == len(history) else status
