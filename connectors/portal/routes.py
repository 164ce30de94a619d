"""The portal's ingress kinds and where each goes, in every contract version the portal speaks.

Version 2 changed ``dossier.submitted`` only; the other kinds are the same in both versions."""

from __future__ import annotations

from typing import Any

from connectors.portal import mapping
from connectors.portal.models import DossierSubmitted, DossierSubmittedV2, DossierWithdrawn, PaymentCompleted
from hub.connector import Route

ROUTES: dict[str, Route[Any]] = {
    "dossier.submitted": Route(
        "dossier.submitted",
        DossierSubmitted,
        mapping.dossier_submitted,
        record=mapping.SUBMITTED,
        from_canonical=mapping.dossier_submitted_from_canonical,
        revisions={"2": DossierSubmittedV2},  # the same translation: see DossierSubmittedV2
    ),
    "dossier.withdrawn": Route("dossier.withdrawn", DossierWithdrawn, mapping.dossier_withdrawn),
    "payment.completed": Route("payment.completed", PaymentCompleted, mapping.payment_completed),
}
