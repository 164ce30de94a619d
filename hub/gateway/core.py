"""What every route shares: the gateway's parts, and who is calling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from hub.gateway import auth
from hub.gateway.leases import Leases
from hub.gateway.metrics import GatewayMetrics
from hub.gateway.service import MessageService


@dataclass(frozen=True)
class Gateway:
    """Everything the routes need; the entry point builds it (hub.gateway.build)."""

    authenticator: auth.Authenticator
    allowed_kinds: Mapping[str, frozenset[str]]  # partner -> the ingress kinds it may publish
    service: MessageService
    leases: Leases
    metrics: GatewayMetrics
    max_body_bytes: int
    max_pull: int
    ready: Callable[[], str | None]  # None when ready, else why not; reads probes, never blocks
    # Requests publishing at once: as many as the partner's broker connections. Dozens of threads
    # blocked on confirms and the store at once halved the throughput (the GIL's hand-offs); the
    # others wait here, on the event loop, at no cost.
    publishing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))


def lower_headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def _target(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def authenticated(gateway: Gateway, request: Request, body: bytes) -> str:
    """The calling partner (one the gateway serves), or a 401 ``Problem``."""
    signed = auth.Request(lower_headers(request), request.method, _target(request), body)
    partner = gateway.authenticator.partner(signed)
    if partner not in gateway.allowed_kinds:
        raise auth.unauthorized("this partner is not served by the gateway")
    return partner
