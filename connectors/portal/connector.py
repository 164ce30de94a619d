"""The National Public Service Portal (Cổng Dịch vụ công quốc gia) as a partner of the hub."""

from __future__ import annotations

from connectors.portal import mapping
from connectors.portal.routes import ROUTES
from hub.connector import Connector

CONNECTOR = Connector(
    partner="portal",
    routes=ROUTES,
    subscriptions={
        "hub.dossier.v1.DossierReceived": mapping.dossier_sync,
        "hub.dossier.v1.DossierProgressed": mapping.progress_record,
        "hub.postal.v1.PickupStatusChanged": mapping.collected_progress,
    },
)
