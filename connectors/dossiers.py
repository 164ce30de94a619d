"""The dossier rules translations apply: which dossiers must be known, and which steps may follow.

Dossiers come from the dossier book (``Context.dossiers``): committed ones plus those of inputs
still in flight. A translation that changes a dossier returns the change with its events; the hub
commits it with the ledger row, before the input is acknowledged. Both rules may answer "not yet"
(``Deferral``): the message that overtook the one it needs waits for it, within a bounded window.
"""

from __future__ import annotations

from hub.connector import Context
from hub.dossiers.records import Dossier, StepRecorded
from hub.dossiers.status import Step, admit
from hub.errors import Deferral, Reason

UNKNOWN = "MaHoSo: no dossier with this code was filed or received"


def known_dossier(code: str, context: Context) -> Dossier:
    """The dossier ``code``. Raises ``Deferral(unknown_dossier)`` when the hub has not seen it filed
    or received: its filing may still be on its way (another partner's queue, a requeue)."""
    dossier = context.dossiers.get(code)
    if dossier is None:
        raise Deferral(Reason.UNKNOWN_DOSSIER, UNKNOWN)
    return dossier


def step_of(dossier: Dossier, at: int, status: int) -> StepRecorded:
    """The step, once the status policy admits it (``hub.dossiers.status``); raises ``Deferral`` or
    ``Rejection`` (``invalid_transition``) otherwise, so nothing is recorded or published."""
    step = Step(at, status)
    admit(dossier.initial_status, dossier.steps, step)
    return StepRecorded(dossier.code, step)
