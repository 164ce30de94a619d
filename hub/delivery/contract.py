"""What a partner adapter promises the delivery runner, and what it may raise.

An adapter (in ``connectors/<partner>/``) turns egress messages into calls to a partner's HTTP
service. The runner (``hub.delivery``) owns everything else: taking messages off
``egress.<partner>``, one dossier's messages in order and never two calls for one dossier at once,
retries, the breaker, the limits, acknowledging after success and dead-lettering refusals.

An adapter signals the outcome of a call by returning (the partner accepted every message of the
group, including "already exists" answers that the partner's own idempotency makes a success) or by
raising one of the two errors below. Anything else it raises is a bug: the runner treats it as
transient, so the messages stay held, never lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class EgressMessage:
    """One message taken off ``egress.<partner>``, not yet acknowledged."""

    message_id: str
    kind: str  # the AMQP ``type`` (= routing key): DongBoHoSoMC, order.create, ...
    dossier: str  # ``correlation_id``: the dossier code (MaHoSo)
    body: bytes
    payload: Any  # ``body`` parsed as JSON
    headers: Mapping[str, Any] = field(default_factory=dict)


class PartnerUnavailable(Exception):
    """The partner may accept later (timeout, connection error, 5xx, 408, 429, a session or token
    that could not be renewed): retry with backoff; the messages stay held."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # short, fixed vocabulary: "timeout", "http_503", "connect", ...
        self.retry_after = retry_after  # seconds the partner asked to wait (Retry-After), if any


class PartnerRefused(Exception):
    """The partner refused the call for good (a 4xx other than 401/408/429, or a data-error code):
    the messages are dead-lettered with reason ``partner_refused``.

    ``detail`` must hold no personal data: build it with ``hub.delivery.redact``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code  # the partner's code: "http_422", "error_code=-1", "Status=102"
        self.detail = detail


class Adapter(Protocol):
    """A partner's HTTP service, as the runner calls it."""

    partner: str  # the egress it serves: "portal", "postal"

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        """Split one dossier's pending messages (in arrival order) into consecutive groups, each sent
        in one call, e.g. progress records in chunks of at most 10. Order must be kept."""
        ...

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        """Send one group; return when the partner accepted it, or raise ``PartnerUnavailable`` /
        ``PartnerRefused``. Called from worker threads: never two calls for one dossier at once, but
        calls for different dossiers concurrently (up to the partner's concurrency limit)."""
        ...

    def probe(self) -> None:
        """A cheap call that succeeds when the partner is back (a login, a token): the half-open
        breaker's probe. Raises ``PartnerUnavailable`` while the partner is still down."""
        ...

    def close(self) -> None:
        """Release the HTTP client."""
        ...
