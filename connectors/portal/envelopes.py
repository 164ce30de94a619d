"""How one service call is wrapped on the wire; a province picks one (``HUB_PORTAL_HTTP__ENVELOPE``).

- ``session`` (NGSP/LGSP, as in OpenCPS): ``POST {integration_path}`` with header ``dstcode`` and a body
  merging ``{"session", "madonvi", "service"}`` with the service's fields;
- ``proxy`` (a province's local proxy, seen in a .NET one-stop-shop product): no login,
  ``POST {proxy_sync_path}?MaDinhDanhDV=<unit>&isUpdating=True|False`` with the dossiers as the body;
  it serves only the dossier sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from hub.delivery.contract import PartnerRefused
from hub.settings.portal_http import PortalHttpSettings


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """One call of a portal service, before it is wrapped."""

    service: str
    unit: str  # madonvi: the unit on whose behalf the hub calls
    fields: dict[str, Any]  # the service's own fields: isUpdating, data, MaHoSo


class Envelope(Protocol):
    needs_session: bool

    def request(self, client: httpx.Client, call: ServiceCall, session: str | None) -> httpx.Request:
        """The HTTP request for ``call`` (``session`` is None when ``needs_session`` is false)."""
        ...


class SessionEnvelope:
    needs_session = True

    def __init__(self, settings: PortalHttpSettings) -> None:
        self._path = settings.integration_path
        self._dstcode = settings.dstcode

    def request(self, client: httpx.Client, call: ServiceCall, session: str | None) -> httpx.Request:
        body = {"session": session, "madonvi": call.unit, "service": call.service, **call.fields}
        return client.build_request("POST", self._path, json=body, headers={"dstcode": self._dstcode})


class ProxyEnvelope:
    needs_session = False

    def __init__(self, settings: PortalHttpSettings) -> None:
        self._path = settings.proxy_sync_path
        self._dstcode = settings.dstcode
        self._sync_service = settings.sync_service

    def request(self, client: httpx.Client, call: ServiceCall, session: str | None) -> httpx.Request:
        if call.service != self._sync_service:
            raise PartnerRefused("unsupported_service", f"{call.service} has no path on the proxy envelope")
        updating = "True" if call.fields.get("isUpdating") else "False"
        return client.build_request(
            "POST",
            self._path,
            params={"MaDinhDanhDV": call.unit, "isUpdating": updating},
            json=call.fields.get("data", []),
            headers={"dstcode": self._dstcode},
        )


def envelope_for(settings: PortalHttpSettings) -> Envelope:
    return ProxyEnvelope(settings) if settings.envelope == "proxy" else SessionEnvelope(settings)
