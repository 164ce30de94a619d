"""The portal's HTTP adapter: delivers ``egress.portal`` messages to DVCQG's integration service.

The runner (``hub.delivery``) hands it one dossier's messages; this module only decides how they are
grouped into calls and makes each call once, raising ``PartnerUnavailable`` or ``PartnerRefused``
(``hub.delivery.contract``). Retries, the breaker, the limits and dead letters are the runner's.

- ``DongBoHoSoMC``: one dossier per call, ``isUpdating: false``; "already exists" (``exists_codes``
  or ``exists_text``) sends the same dossier again with ``isUpdating: true``, so a re-delivery is
  harmless.
- ``CapNhatTienDoHoSoMC``: consecutive records of the dossier, in order, at most
  ``progress_chunk_size`` per call. An "already exists" answer counts as accepted (a re-delivery).
- ``TraCuuHoSo``: ``lookup(code)``, for operators and checks, not called by the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connectors.portal.answers import Answer, AnswerRules, Outcome, read_answer, refusal
from connectors.portal.envelopes import Envelope, ServiceCall, envelope_for
from connectors.portal.sessions import Sessions
from hub.delivery.contract import Adapter, EgressMessage, PartnerRefused, PartnerUnavailable
from hub.delivery.http import send
from hub.envelope import HEADER_UNIT
from hub.errors import ConfigError
from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy
from hub.settings.portal_http import PortalHttpSettings

SYNC_KIND = "DongBoHoSoMC"
PROGRESS_KIND = "CapNhatTienDoHoSoMC"


DEFAULT_CALL_TIMEOUT = DeliveryPolicy().timeout_seconds


class PortalAdapter:
    partner = "portal"

    def __init__(
        self,
        settings: PortalHttpSettings,
        client: httpx.Client | None = None,
        *,
        timeout_seconds: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self._settings = settings
        self._client = client or _client_for(settings, timeout_seconds)
        self._rules = AnswerRules.from_settings(settings)
        self._envelope: Envelope = envelope_for(settings)
        self._sessions = Sessions(self._client, settings, self._rules)

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        size = self._settings.progress_chunk_size
        groups: list[list[EgressMessage]] = []
        for message in messages:
            last = groups[-1] if groups else None
            if message.kind == PROGRESS_KIND and last and last[0].kind == PROGRESS_KIND and len(last) < size:
                last.append(message)
            else:
                groups.append([message])
        return groups

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        kind = group[0].kind
        if kind == SYNC_KIND:
            self._sync(group[0])
        elif kind == PROGRESS_KIND:
            self._progress(group)
        else:
            raise PartnerRefused("unknown_kind", f"the portal adapter sends no {kind[:40]!r}")

    def lookup(self, dossier_code: str) -> list[Any]:
        """``TraCuuHoSo``: what the portal holds for ``dossier_code`` (empty: it has no such dossier)."""
        fields = {"MaHoSo": dossier_code}
        call = ServiceCall(self._settings.lookup_service, self._unit_of_code(dossier_code), fields)
        answer = self._call(call, fields)
        if answer.outcome is not Outcome.ACCEPTED:
            raise refusal(answer, fields)
        result = answer.body.get("result")
        return result if isinstance(result, list) else []

    def probe(self) -> None:
        if self._envelope.needs_session:
            self._sessions.login()

    def close(self) -> None:
        self._client.close()

    def _sync(self, message: EgressMessage) -> None:
        unit = self._unit_of(message)
        service, dossiers = self._settings.sync_service, [message.payload]
        answer = self._call(ServiceCall(service, unit, {"isUpdating": False, "data": dossiers}), dossiers)
        if answer.outcome is Outcome.EXISTS:
            answer = self._call(ServiceCall(service, unit, {"isUpdating": True, "data": dossiers}), dossiers)
        if answer.outcome is not Outcome.ACCEPTED:
            raise refusal(answer, message.payload)

    def _progress(self, group: Sequence[EgressMessage]) -> None:
        records = [message.payload for message in group]
        call = ServiceCall(self._settings.progress_service, self._unit_of(group[0]), {"data": records})
        answer = self._call(call, records)
        if answer.outcome not in (Outcome.ACCEPTED, Outcome.EXISTS):
            raise refusal(answer, records)

    def _call(self, call: ServiceCall, sent: Any) -> Answer:
        """One call; when the session expired, one login and the call once more."""
        session = self._sessions.current() if self._envelope.needs_session else None
        answer = self._post(call, session, sent)
        if answer.outcome is Outcome.EXPIRED and session is not None:
            answer = self._post(call, self._sessions.renew(session), sent)
        if answer.outcome is Outcome.EXPIRED:
            raise PartnerUnavailable("session_expired")
        return answer

    def _post(self, call: ServiceCall, session: str | None, sent: Any) -> Answer:
        response = send(self._client, self._envelope.request(self._client, call, session), sent)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            return Answer(Outcome.EXPIRED, "http_401", "", {})
        return read_answer(response, self._rules)

    def _unit_of(self, message: EgressMessage) -> str:
        payload = message.payload if isinstance(message.payload, dict) else {}
        named = message.headers.get(HEADER_UNIT) or payload.get("DonViXuLy")
        return str(named) if named else self._unit_of_code(message.dossier)

    def _unit_of_code(self, dossier_code: str) -> str:
        """The unit that issued the dossier code (its prefix up to the first ``-``, as in
        connectors/units.py), or the default unit."""
        prefix, dash, _ = dossier_code.partition("-")
        return prefix if dash and prefix else self._settings.default_unit


def build_adapter(settings: Settings) -> Adapter:
    """The portal adapter for the hub's settings; ``ConfigError`` when the service is not configured."""
    portal = settings.portal_http
    if not portal.base_url:
        raise ConfigError("HUB_PORTAL_HTTP__BASE_URL is not set: the portal's HTTP service is not configured")
    if portal.envelope == "session" and (not portal.username or portal.password is None):
        raise ConfigError("HUB_PORTAL_HTTP__USERNAME and HUB_PORTAL_HTTP__PASSWORD are needed to log in")
    return PortalAdapter(
        portal, timeout_seconds=settings.delivery_policy(PortalAdapter.partner).timeout_seconds
    )


def _client_for(settings: PortalHttpSettings, timeout_seconds: float) -> httpx.Client:
    # One call's bound is the delivery policy's (HUB_DELIVERY), the same the runner and ops reason with.
    timeout = httpx.Timeout(timeout_seconds, connect=settings.connect_timeout_seconds)
    return httpx.Client(base_url=settings.base_url, timeout=timeout, follow_redirects=False)
