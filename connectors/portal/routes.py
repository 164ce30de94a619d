"""The portal's ingress kinds and where each goes."""

from __future__ import annotations

from typing import Any

from connectors.portal import mapping
from connectors.portal.models import DossierSubmitted, DossierWithdrawn, PaymentCompleted
from hub.connector import Route

ROUTES: dict[str, Route[Any]] = {
    "dossier.submitted": Route(
        "dossier.submitted",
        DossierSubmitted,
        mapping.dossier_submitted,
        record=mapping.SUBMITTED,
        from_canonical=mapping.dossier_submitted_from_canonical,
    ),
    "dossier.withdrawn": Route("dossier.withdrawn", DossierWithdrawn, mapping.dossier_withdrawn),
    "payment.completed": Route("payment.completed", PaymentCompleted, mapping.payment_completed),
}
