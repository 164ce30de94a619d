"""Vietnam Post's BCCI HTTP API as the delivery runner's adapter for ``egress.postal``.

``order.create`` becomes ``POST {order}`` with the API's field names (``ORDER_FIELDS``), and
``order.cancel`` ``POST {cancel}?CustomerCode=&OrderNumber=``, each sent alone, with a
client-credentials token (``hub.delivery.oauth``). The answer ``{"Status", "Message"}`` decides: a
success or "already exists" status returns, any other is ``PartnerRefused("Status=<s>")`` with the
message redacted of what was sent, an answer that is not such an object ``PartnerUnavailable
("malformed_answer")``. Mapping and error table: docs/adapters.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hub.delivery.contract import Adapter, EgressMessage, PartnerRefused, PartnerUnavailable
from hub.delivery.http import send
from hub.delivery.oauth import ClientCredentials, Token
from hub.delivery.redact import redact
from hub.settings import Settings
from hub.settings.postal_http import PostalHttpSettings

log = logging.getLogger("hub.delivery.postal")

PARTNER = "postal"
# The API's field <- the egress order.create field. No sender postcode fields: the egress carries
# none for the sender (docs/adapters.md, "Gaps"); the district slot carries the commune, the
# level under the province since the 2025 reform.
ORDER_FIELDS: Mapping[str, str] = {
    "CustomerCode": "CustomerCode",
    "OrderNumber": "OrderNumber",
    "CODAmount": "CODAmount",
    "SenderName": "SenderName",
    "SenderAddress": "SenderAddress",
    "SenderTel": "SenderPhone",
    "ReceiverName": "ReceiverName",
    "ReceiverAddress": "ReceiverAddress",
    "ReceiverTel": "ReceiverPhone",
    "ReceiverProvince": "ReceiverProvince",
    "ReceiverDistrict": "ReceiverCommune",
    "Description": "Description",
}
STATUS_LIMIT = 64  # characters of an unexpected Status kept in the refusal's code


def build_adapter(settings: Settings) -> Adapter:
    """The adapter the runner calls for ``egress.postal``."""
    timeout = settings.delivery_policy(PostalAdapter.partner).timeout_seconds
    return PostalAdapter(settings.postal_http, timeout_seconds=timeout)


def http_client(settings: PostalHttpSettings, timeout_seconds: float | None = None) -> httpx.Client:
    """A client for the post's API; ``timeout_seconds`` bounds one answer (default: the poller's
    ``timeout_seconds``; the order calls use the delivery policy's, HUB_DELIVERY)."""
    read = settings.timeout_seconds if timeout_seconds is None else timeout_seconds
    timeout = httpx.Timeout(read, connect=settings.connect_timeout_seconds)
    return httpx.Client(timeout=timeout, follow_redirects=False)


def credentials(settings: PostalHttpSettings, client: httpx.Client) -> ClientCredentials:
    return ClientCredentials(
        client,
        settings.url(settings.token_path),
        settings.consumer_key,
        settings.consumer_secret,
        margin_seconds=settings.refresh_margin_seconds,
    )


def authorization(settings: PostalHttpSettings, token: Token) -> dict[str, str]:
    """The header a call carries its token in: the gateway's or the LGSP variant's."""
    if settings.token_header == "access_token":
        return {"access_token": token.value}
    return {"Authorization": f"{token.kind} {token.value}"}


def authorized_send(
    settings: PostalHttpSettings,
    client: httpx.Client,
    tokens: ClientCredentials,
    request: httpx.Request,
    *sent: Any,
) -> httpx.Response:
    """Send ``request`` with the current token; on 401 renew the token once and send it again."""
    token = tokens.current()
    request.headers.update(authorization(settings, token))
    response = send(client, request, *sent)
    if response.status_code != httpx.codes.UNAUTHORIZED:
        return response
    request.headers.update(authorization(settings, tokens.renew(refused=token)))
    response = send(client, request, *sent)
    if response.status_code == httpx.codes.UNAUTHORIZED:
        raise PartnerUnavailable("unauthorized")  # a fresh token refused: the gateway's problem
    return response


class PostalAdapter:
    """One call per message: ``order.create`` or ``order.cancel``."""

    partner = PARTNER

    def __init__(
        self,
        settings: PostalHttpSettings,
        client: httpx.Client | None = None,
        *,
        timeout_seconds: float | None = None,
    ) -> None:
        self._settings = settings
        self._client = client or http_client(settings, timeout_seconds)
        self._tokens = credentials(settings, self._client)
        self._done = frozenset(settings.success_statuses) | frozenset(settings.existing_statuses)
        self._existing = frozenset(settings.existing_statuses)

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        return [[message] for message in messages]

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        for message in group:
            self._deliver(message)

    def probe(self) -> None:
        self._tokens.renew()

    def close(self) -> None:
        self._client.close()

    def _deliver(self, message: EgressMessage) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {}
        if message.kind == "order.create":
            request = self._client.build_request(
                "POST", self._settings.url(self._settings.order_path), json=order_body(payload)
            )
        elif message.kind == "order.cancel":
            request = self._client.build_request(
                "POST", self._settings.url(self._settings.cancel_path), params=cancel_query(payload)
            )
        else:
            raise PartnerRefused("unknown_kind", f"the post's API takes no {message.kind[:64]!r}")
        response = authorized_send(self._settings, self._client, self._tokens, request, payload)
        status = self._status(response, payload)
        if status in self._existing:
            log.info("the post had %s %s already: taken as done", message.kind, message.message_id)

    def _status(self, response: httpx.Response, sent: Any) -> str:
        """The answer's Status when it is a success; raise otherwise."""
        try:
            answer = response.json()
        except ValueError:
            raise PartnerUnavailable("malformed_answer") from None
        status = answer.get("Status") if isinstance(answer, dict) else None
        if isinstance(status, int) and not isinstance(status, bool):
            status = str(status)
        if not isinstance(status, str) or not status.strip():
            raise PartnerUnavailable("malformed_answer")
        status = status.strip()
        if status not in self._done:
            said = answer.get("Message")
            code = redact(status, sent)[:STATUS_LIMIT]  # a code, or a deployment's status text
            raise PartnerRefused(f"Status={code}", redact(said if isinstance(said, str) else "", sent))
        return status


def order_body(payload: Mapping[str, Any]) -> dict[str, Any]:
    """An egress ``order.create`` body in the API's field names (``ORDER_FIELDS``)."""
    body = {api: payload[ours] for api, ours in ORDER_FIELDS.items() if ours in payload}
    missing = [ours for ours in ("CustomerCode", "OrderNumber") if ours not in payload]
    if missing:
        raise PartnerRefused("bad_message", f"order.create lacks {', '.join(missing)}")
    return body


def cancel_query(payload: Mapping[str, Any]) -> dict[str, str]:
    """An egress ``order.cancel`` as the cancel call's query (its ``LyDo`` has no field there)."""
    if not all(isinstance(payload.get(name), str) for name in ("CustomerCode", "OrderNumber")):
        raise PartnerRefused("bad_message", "order.cancel lacks CustomerCode or OrderNumber")
    return {"CustomerCode": payload["CustomerCode"], "OrderNumber": payload["OrderNumber"]}
