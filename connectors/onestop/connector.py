"""The provincial one-stop-shop system (Hệ thống thông tin giải quyết TTHC) as a partner of the hub.

It receives, on ``egress.onestop``, the dossiers citizens file online. Its own ingress kinds
(``dossier.received``, ``dossier.progress``, ``result.ready``) are not carried yet and are
dead-lettered as ``unknown_kind``.
"""

from __future__ import annotations

from connectors.onestop import mapping
from hub.connector import Connector

CONNECTOR = Connector(
    partner="onestop",
    routes={},
    subscriptions={"hub.dossier.v1.DossierSubmitted": mapping.dossier_submitted_for_unit},
)
