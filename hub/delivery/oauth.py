"""An OAuth2 client-credentials token (RFC 6749, 4.4), as WSO2-style API gateways (NGSP, a
province's LGSP) hand them out: kept until shortly before it expires, renewed once when a call is
answered 401.

The consumer key and secret travel only in the token request's ``Authorization: Basic`` header;
neither they nor a token ever reach an exception text or a log line.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from hub.delivery.contract import PartnerRefused, PartnerUnavailable
from hub.delivery.http import send


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    kind: str  # token_type: "Bearer"
    renew_at: float  # on the clock of ``ClientCredentials``


class ClientCredentials:
    """The current token of one consumer key; safe to share between threads."""

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        key: SecretStr,
        secret: SecretStr,
        *,
        margin_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._url = url
        self._basic = _basic(key, secret)
        self._margin = margin_seconds
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()

    def current(self) -> Token:
        """The cached token, or a new one when none is kept or it is due for renewal."""
        with self._lock:
            if self._token is None or self._clock() >= self._token.renew_at:
                self._token = self._fetch()
            return self._token

    def renew(self, refused: Token | None = None) -> Token:
        """A new token, after ``refused`` was answered 401; a token another thread renewed since is
        used as it is, so one expiry costs one token request however many calls noticed it."""
        with self._lock:
            if refused is None or self._token is None or self._token is refused:
                self._token = self._fetch()
            return self._token

    def _fetch(self) -> Token:
        request = self._client.build_request(
            "POST",
            self._url,
            headers={"Authorization": self._basic},
            data={"grant_type": "client_credentials"},
        )
        started = self._clock()
        try:
            response = send(self._client, request)
        except PartnerRefused as refused:  # the gateway's fault or ours, never the message's
            raise PartnerUnavailable(f"token_{refused.code}") from None
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise PartnerUnavailable("token_unauthorized")  # wrong consumer key or secret
        return _token(_json(response), started, self._margin)


def _basic(key: SecretStr, secret: SecretStr) -> str:
    pair = f"{key.get_secret_value()}:{secret.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _token(answer: Any, started: float, margin: float) -> Token:
    if not isinstance(answer, dict):
        raise PartnerUnavailable("malformed_token")
    value, kind = answer.get("access_token"), answer.get("token_type", "Bearer")
    lifetime = answer.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(kind, str):
        raise PartnerUnavailable("malformed_token")
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)  # some gateways send it as text
    if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
        raise PartnerUnavailable("malformed_token")
    return Token(value, kind, started + max(float(lifetime) - margin, 0.0))
