"""The partners' connectors, loaded lazily by partner id.

Each entry names the module whose ``CONNECTOR`` serves that partner. A partner listed here gets
its share of the topology (ingress, dead-letter and egress) even before it has ingress routes.
"""

from __future__ import annotations

import difflib
import importlib

from hub.connector import Connector
from hub.errors import ConfigError

_MODULES: dict[str, str] = {
    "portal": "connectors.portal.connector",
    "onestop": "connectors.onestop.connector",
    "postal": "connectors.postal.connector",
}


def partners() -> tuple[str, ...]:
    """Every partner the hub knows, in the contract's order."""
    return tuple(_MODULES)


def load(partner: str) -> Connector:
    """The connector of ``partner``; a typo gets the closest known name in the error."""
    module = _MODULES.get(partner)
    if module is None:
        close = difflib.get_close_matches(partner, _MODULES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"no connector {partner!r}{hint} (known: {', '.join(_MODULES)})")
    connector: Connector = importlib.import_module(module).CONNECTOR
    return connector
