"""The National Public Service Portal (Cổng Dịch vụ công quốc gia) as a partner of the hub."""

from __future__ import annotations

from connectors.portal.routes import ROUTES
from hub.connector import Connector

CONNECTOR = Connector(partner="portal", routes=ROUTES)
