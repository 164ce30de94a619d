"""Which unit owns a dossier, for messages that name only ``MaHoSo``.

A dossier the hub saw filed or received has its unit on record. For one it never saw, the dossier
code is all a withdrawal or a payment says about its owner. Its shape (contract.md, "Agency codes")
is ``<agency code>-<day>-<sequence>``, the agency code of either shape (``hub.agency_codes``): the
prefix is the unit that issued the code, and the agency registry says who owns that unit's work
today (successors followed, whatever their shape).
"""

from __future__ import annotations

from hub.connector import Context
from hub.errors import Reason, Rejection

UNKNOWN_OWNER = "MaHoSo: the owning unit cannot be told from this dossier code"


def unit_of_dossier(code: str, context: Context) -> str:
    """The unit that owns the dossier ``code``: the one the hub recorded when it was filed or
    received; for a dossier the hub never saw (filed before the hub went live, say), its prefix's
    owner in the agency registry.

    Raises ``Rejection(unknown_dossier)`` when the prefix (up to the first ``-``) is not a listed
    agency, such as a ministry's unit (``G09.20-20260609-0092637``). The detail never holds the
    code.
    """
    dossier = context.dossiers.get(code)
    if dossier is not None:
        return dossier.unit
    prefix = code.partition("-")[0]
    if prefix not in context.agencies:
        raise Rejection(Reason.UNKNOWN_DOSSIER, UNKNOWN_OWNER)
    return context.agencies.owning_unit(prefix, "MaHoSo")
