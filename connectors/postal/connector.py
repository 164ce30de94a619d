"""The postal operator (Vietnam Post, public-utility postal service BCCI) as a partner of the hub.

It sends tracking events of the orders the hub placed (``shipment.status``); it receives, on
``egress.postal``, orders to collect a paper dossier from a citizen or to deliver a result
(``order.create``) and their cancellations (``order.cancel``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.postal import mapping
from connectors.postal.routes import ROUTES
from hub.connector import Connector


def _order_dossier(body: Mapping[str, Any]) -> str | None:
    """A tracking event's dossier: its ``OrderNumber`` is ``<MaHoSo>/<service>[/<attempt>]``."""
    number = body.get("OrderNumber")
    return number.split("/", 1)[0] if isinstance(number, str) else None


CONNECTOR = Connector(
    partner="postal",
    routes=ROUTES,
    subscriptions={
        "hub.dossier.v1.DossierSubmitted": mapping.collection_for_filing,
        "hub.dossier.v1.ResultReady": mapping.result_by_post,
        "hub.dossier.v1.DossierWithdrawn": mapping.cancel_collection,
        mapping.REQUESTED: mapping.order_create,
        mapping.CANCELLED: mapping.order_cancel,
    },
    partition_key=_order_dossier,
)
