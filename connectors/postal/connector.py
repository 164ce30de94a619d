"""The postal operator (Vietnam Post, public-utility postal service BCCI) as a partner of the hub.

Its ingress kind (``shipment.status``) arrives with the connectors issue; until then it is
dead-lettered as ``unknown_kind``.
"""

from __future__ import annotations

from hub.connector import Connector

CONNECTOR = Connector(partner="postal", routes={})
