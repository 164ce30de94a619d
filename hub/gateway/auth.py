"""Who is calling: an API key (``Authorization: Bearer`` or ``X-Api-Key``) or an HMAC-SHA256 signature.

API keys are configured as their sha256 hex digests (``hash_key``), so the settings never hold a key;
every configured digest is compared in constant time, whichever matched, so timing tells nothing.

A signed request names its partner (``X-Hub-Partner``), the time (``X-Hub-Timestamp``, seconds since
the epoch) and the signature (``X-Hub-Signature: sha256=<hex>``) of ``signing_text``: timestamp,
method, path with query and body, one per line. Binding method and path keeps a signature of one
request from being replayed on another route; the timestamp's window bounds replays of the same one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.gateway.problems import Problem
from hub.settings.gateway import GatewayPartner

HEADER_API_KEY = "x-api-key"
HEADER_PARTNER = "x-hub-partner"
HEADER_TIMESTAMP = "x-hub-timestamp"
HEADER_SIGNATURE = "x-hub-signature"
SIGNATURE_PREFIX = "sha256="


def hash_key(key: str) -> str:
    """What ``api_key_sha256`` lists for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def signing_text(timestamp: str, method: str, target: str, body: bytes) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{target}\n".encode() + body


def sign(secret: str, timestamp: str, method: str, target: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value a partner sends (also for tests and the benchmark)."""
    digest = hmac.new(secret.encode(), signing_text(timestamp, method, target, body), hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


@dataclass(frozen=True)
class Request:
    """What authentication reads of a request."""

    headers: Mapping[str, str]  # lower-case names
    method: str
    target: str  # path and query, as sent
    body: bytes


def unauthorized(detail: str, field: str | None = None) -> Problem:
    return Problem(401, "unauthenticated", detail, field)


class Authenticator:
    def __init__(
        self,
        partners: Mapping[str, GatewayPartner],
        max_skew_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._digests = [(p, d.encode()) for p, c in partners.items() for d in c.api_key_sha256]
        self._secrets = {
            p: c.hmac_secret.get_secret_value().encode()
            for p, c in partners.items()
            if c.hmac_secret is not None
        }
        self._skew = max_skew_seconds
        self._clock = clock

    @staticmethod
    def has_credentials(headers: Mapping[str, str]) -> bool:
        return any(name in headers for name in ("authorization", HEADER_API_KEY, HEADER_SIGNATURE))

    def partner(self, request: Request) -> str:
        """The partner the request proves it comes from; a 401 ``Problem`` otherwise."""
        if HEADER_SIGNATURE in request.headers:
            return self._signed(request)
        key = _presented_key(request.headers)
        if key is None:
            raise unauthorized("send an API key (Authorization: Bearer, or X-Api-Key) or a signature")
        return self._by_key(key)

    def _by_key(self, key: str) -> str:
        presented = hash_key(key).encode()
        found = None
        for partner, digest in self._digests:  # no early exit: every digest is compared
            if hmac.compare_digest(presented, digest):
                found = partner
        if found is None:
            raise unauthorized("the API key is not one the gateway knows", "authorization")
        return found

    def _signed(self, request: Request) -> str:
        partner = request.headers.get(HEADER_PARTNER, "")
        secret = self._secrets.get(partner)
        if secret is None:
            raise unauthorized("X-Hub-Partner names no partner with a signing secret", HEADER_PARTNER)
        stamp = request.headers.get(HEADER_TIMESTAMP, "")
        self._check_fresh(stamp)
        expected = hmac.new(
            secret, signing_text(stamp, request.method, request.target, request.body), hashlib.sha256
        ).hexdigest()
        sent = request.headers[HEADER_SIGNATURE].removeprefix(SIGNATURE_PREFIX)
        if not hmac.compare_digest(expected.encode(), sent.encode("ascii", "replace")):
            raise unauthorized("the signature does not verify", HEADER_SIGNATURE)
        return partner

    def _check_fresh(self, stamp: str) -> None:
        if not stamp.isdigit() or len(stamp) > 12:
            raise unauthorized("X-Hub-Timestamp must be seconds since the epoch", HEADER_TIMESTAMP)
        if abs(self._clock() - int(stamp)) > self._skew:
            raise unauthorized("X-Hub-Timestamp is too far from the gateway's clock", HEADER_TIMESTAMP)


def _presented_key(headers: Mapping[str, str]) -> str | None:
    if HEADER_API_KEY in headers:
        return headers[HEADER_API_KEY]
    scheme, _, key = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()
