"""``GET /v1/messages`` (pull leased egress messages) and ``POST /v1/messages/ack``."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.gateway import checks
from hub.gateway.core import Gateway, authenticated, lower_headers
from hub.gateway.leases import Pulled
from hub.gateway.problems import Problem

MAX_ACK_BODY_BYTES = 256 * 1024


def _limit(request: Request, most: int) -> int:
    text = request.query_params.get("limit", "10")
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise Problem(422, "limit", f"limit must be a whole number from 1 to {most}", "limit")
    return int(text)


def _plain(value: Any) -> Any:
    """A header value as JSON can carry it."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # the hub sends JSON only; said rather than dropped, should that change
        return raw.decode("utf-8", "replace")


def described(pulled: Pulled) -> dict[str, Any]:
    p = pulled.delivery.properties
    return {
        "id": pulled.receipt,
        "message_id": p.message_id,
        "kind": p.type or pulled.delivery.routing_key,
        "correlation_id": p.correlation_id,
        "timestamp": p.timestamp,
        "headers": {name: _plain(value) for name, value in sorted(p.headers.items())},
        "body": _body(pulled.delivery.body),
    }


async def pull(gateway: Gateway, request: Request) -> Response:
    partner = authenticated(gateway, request, b"")
    limit = _limit(request, gateway.max_pull)
    got = await run_in_threadpool(gateway.leases.pull, partner, limit)
    gateway.metrics.pulled.labels(partner).inc(len(got))
    return JSONResponse({"messages": [described(p) for p in got]})


def _receipts(body: bytes) -> list[str]:
    try:
        ids = json.loads(body).get("ids")
    except (ValueError, AttributeError):
        ids = None
    if not isinstance(ids, list) or not all(isinstance(i, str) and len(i) <= 64 for i in ids):
        raise Problem(422, "ids", 'the body must be {"ids": [...]} with the ids a pull returned', "ids")
    return ids


async def ack(gateway: Gateway, request: Request) -> Response:
    headers = lower_headers(request)
    body = await checks.read_bounded(headers, request.stream(), MAX_ACK_BODY_BYTES)
    partner = authenticated(gateway, request, body)
    checks.check_content_type(headers)
    done, unknown = await run_in_threadpool(gateway.leases.ack, partner, _receipts(body))
    gateway.metrics.acked.labels(partner).inc(len(done))
    return JSONResponse({"acknowledged": done, "unknown": unknown})
