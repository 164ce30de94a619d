"""Pure translations between the one-stop-shop system's messages and canonical events. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.filing import native_filing
from hub.connector import Context, Emit

ONESTOP = "onestop"


def dossier_submitted_for_unit(datum: Mapping[str, Any], _context: Context) -> Sequence[Emit]:
    """Flow 1: a dossier filed online reaches the unit that owns it, in the portal's field names
    (the one-stop-shop system already speaks them); the unit travels in ``x-hub-unit``."""
    return [
        Emit(
            partner=ONESTOP,
            kind="dossier.submitted",
            body=native_filing(datum),
            dossier=datum["dossier_code"],
            unit=datum["owning_unit"],
        )
    ]
