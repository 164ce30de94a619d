"""The postal operator's ingress kind and where it goes."""

from __future__ import annotations

from typing import Any

from connectors.postal import mapping
from connectors.postal.models import ShipmentStatus
from hub.connector import Route

ROUTES: dict[str, Route[Any]] = {
    "shipment.status": Route(
        "shipment.status",
        ShipmentStatus,
        mapping.shipment_status,
        dossier_of=lambda message: message.order.dossier_code,
    ),
}
