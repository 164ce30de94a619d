"""The dossier rules translations apply: which dossiers must be known, and which steps may follow.

Dossiers come from the dossier book (``Context.dossiers``): committed ones plus those of inputs
still in flight. A translation that changes a dossier returns the change with its events; the hub
commits it with the ledger row, before the input is acknowledged.
"""

from __future__ import annotations

from hub.connector import Context
from hub.dossiers.records import Dossier, StepRecorded
from hub.dossiers.status import Step, admit
from hub.errors import Reason, Rejection

UNKNOWN = "MaHoSo: no dossier with this code was filed or received"


def known_dossier(code: str, context: Context) -> Dossier:
    """The dossier ``code``; raises ``unknown_dossier`` when the hub never saw it filed or received."""
    dossier = context.dossiers.get(code)
    if dossier is None:
        raise Rejection(Reason.UNKNOWN_DOSSIER, UNKNOWN)
    return dossier


def step_of(dossier: Dossier, at: int, status: int) -> StepRecorded:
    """The step, once the status policy admits it; raises ``invalid_transition`` otherwise."""
    step = Step(at, status)
    admit(dossier.initial_status, dossier.steps, step)
    return StepRecorded(dossier.code, step)
