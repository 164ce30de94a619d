"""What the gateway checks of a posted message before it publishes it, each a 4xx ``Problem``.

The hub checks everything again on the ingress (hub.checks): these are the checks that an HTTP client
deserves an immediate answer for, and that keep what the hub would only dead-letter off the broker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping

from hub.checks import MESSAGE_ID
from hub.envelope import CONTENT_TYPE_JSON
from hub.gateway.problems import Problem

HEADER_IDEMPOTENCY_KEY = "idempotency-key"


def check_kind(kind: str, allowed: Collection[str]) -> None:
    if kind not in allowed:
        raise Problem(403, "kind_not_allowed", "this partner may not publish this kind", "kind")


def check_content_type(headers: Mapping[str, str]) -> None:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != CONTENT_TYPE_JSON:
        raise Problem(415, "content_type", f"Content-Type must be {CONTENT_TYPE_JSON}", "content-type")


def idempotency_key(headers: Mapping[str, str]) -> str:
    """The key, which becomes the message's ``message_id`` (the same rule)."""
    key = headers.get(HEADER_IDEMPOTENCY_KEY)
    if key is None:
        raise Problem(422, "idempotency_key", "the Idempotency-Key header is required", "Idempotency-Key")
    if MESSAGE_ID.fullmatch(key) is None:
        raise Problem(
            422,
            "idempotency_key",
            "Idempotency-Key must be 1..128 printable ASCII characters",
            "Idempotency-Key",
        )
    return key


def check_json(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "invalid_utf8", "the body is not UTF-8", "body") from None
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        raise Problem(422, "malformed_json", "the body is not JSON", "body") from None


def too_large(limit: int) -> Problem:
    return Problem(413, "too_large", f"the body is larger than {limit} bytes", "body")


async def read_bounded(headers: Mapping[str, str], chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` (by its Content-Length or as it
    streams in): a large body is never held whole."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)
