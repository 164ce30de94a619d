"""The National Public Service Portal (Cổng Dịch vụ công quốc gia) as a partner of the hub."""

from __future__ import annotations

from datetime import date

from connectors.portal import mapping
from connectors.portal.routes import ROUTES
from hub.connector import Connector, ContractVersion

# Version 2 is the portal's newer dossier shape; version 1 is accepted until the province drops it
# from the setting contract_versions, which the portal is asked to make possible by this date.
VERSIONS = (ContractVersion("1", retires=date(2027, 6, 30)), ContractVersion("2"))

CONNECTOR = Connector(
    partner="portal",
    routes=ROUTES,
    subscriptions={
        "hub.dossier.v1.DossierReceived": mapping.dossier_sync,
        "hub.dossier.v1.DossierProgressed": mapping.progress_record,
        "hub.postal.v1.PickupStatusChanged": mapping.collected_progress,
    },
    versions=VERSIONS,
    citizen_id_paths=("SoGiayToChuHoSo", "SoDinhDanhChuHoSo"),  # contract versions 1, 2
)
