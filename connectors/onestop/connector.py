"""The provincial one-stop-shop system (Hệ thống thông tin giải quyết TTHC) as a partner of the hub.

It sends dossiers received at counters, processing steps and ready results; it receives, on
``egress.onestop``, the dossiers citizens file online, their withdrawals and their online payments,
for the unit that owns each.
"""

from __future__ import annotations

from connectors.onestop import mapping
from connectors.onestop.routes import ROUTES
from hub.connector import Connector

CONNECTOR = Connector(
    partner="onestop",
    routes=ROUTES,
    subscriptions={
        "hub.dossier.v1.DossierSubmitted": mapping.dossier_submitted_for_unit,
        "hub.dossier.v1.DossierWithdrawn": mapping.dossier_withdrawn_for_unit,
        "hub.payment.v1.PaymentCompleted": mapping.payment_completed_for_unit,
        "hub.postal.v1.PickupStatusChanged": mapping.pickup_status,
        "hub.postal.v1.ResultDeliveryChanged": mapping.result_delivery,
    },
)
