"""One outbound HTTP call, with its failure mapped onto the runner's two errors.

- timeouts, connection errors, 408, 429 and 5xx: ``PartnerUnavailable`` (429 and 503 with their
  ``Retry-After`` in seconds or as an HTTP date);
- 401 is returned to the adapter, which renews its session or token once and calls again;
- any other 4xx: ``PartnerRefused`` with the status as the code and the partner's words, redacted of
  what was sent;
- 2xx and 3xx: returned, for the adapter to read the partner's own success code.

No exception text names a URL's query, a header or a body: they may hold credentials or personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hub.delivery.contract import PartnerRefused, PartnerUnavailable
from hub.delivery.redact import redact

RETRY_AFTER_CAP_SECONDS = 3600.0  # a partner asking for more is waited on at most an hour per try
_RETRIED_STATUSES = frozenset({408, 429})


def send(client: httpx.Client, request: httpx.Request, *sent: Any) -> httpx.Response:
    """Send ``request``; ``sent`` are the values it carried, cut out of any refusal's detail."""
    try:
        response = client.send(request)
    except httpx.TimeoutException:
        raise PartnerUnavailable("timeout") from None
    except httpx.TransportError as error:
        raise PartnerUnavailable(f"connect:{type(error).__name__}") from None
    status = response.status_code
    if status in _RETRIED_STATUSES or status >= 500:
        raise PartnerUnavailable(f"http_{status}", retry_after(response.headers.get("Retry-After")))
    if 400 <= status < 500 and status != 401:
        raise PartnerRefused(f"http_{status}", redact(response.text, *sent))
    return response


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date), capped; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)
