"""Pure translations of the portal's messages into canonical events, and of canonical events into
what the portal receives. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.filing import canonical_filing, native_filing
from connectors.portal.models import DossierSubmitted
from hub.connector import Context, Emit, Event

SUBMITTED = "hub.dossier.v1.DossierSubmitted"


def dossier_submitted(message: DossierSubmitted, context: Context) -> Sequence[Emit | Event]:
    """Flow 1, online filing: the canonical event, for the unit that owns the dossier today."""
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    return [
        Event(
            record=SUBMITTED,
            kind="dossier.submitted",
            datum=canonical_filing(message, unit),
            dossier=message.MaHoSo,
        )
    ]


def dossier_submitted_from_canonical(datum: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical ``DossierSubmitted`` as the portal's native body, for partners that publish
    canonical events; the result is validated like any native body."""
    return native_filing(datum)
