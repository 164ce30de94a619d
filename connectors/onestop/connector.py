"""The provincial one-stop-shop system (Hệ thống thông tin giải quyết TTHC) as a partner of the hub.

It reads ``egress.onestop`` today; its ingress kinds (``dossier.received``, ``dossier.progress``,
``result.ready``) arrive with the connectors issue, until then they are dead-lettered as
``unknown_kind``.
"""

from __future__ import annotations

from hub.connector import Connector

CONNECTOR = Connector(partner="onestop", routes={})
