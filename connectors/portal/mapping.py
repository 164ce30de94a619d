"""Pure translations of the portal's messages into what other partners receive. No I/O."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.portal.models import DossierSubmitted
from hub.connector import Context, Emit

ONESTOP = "onestop"


def dossier_submitted(message: DossierSubmitted, context: Context) -> Sequence[Emit]:
    """Flow 1, online filing: the dossier goes to the one-stop-shop unit that owns it.

    The body keeps the portal's field names (contract.md: the one-stop-shop system already speaks
    them); the owning unit, after following successors, travels in ``x-hub-unit``.
    """
    unit = context.agencies.owning_unit(message.MaCoQuan, "MaCoQuan")
    return [
        Emit(
            partner=ONESTOP,
            kind="dossier.submitted",
            body=message,
            dossier=message.MaHoSo,
            unit=unit,
        )
    ]
