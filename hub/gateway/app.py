"""The gateway's HTTP application (Starlette): routes, the order of checks, and the answers.

``POST /v1/messages/{kind}`` checks, in order: credentials present (401), body size (413), who is
calling (401), the kind allowed for that partner (403), Content-Type (415), Idempotency-Key, UTF-8
and JSON (422); then publishes and answers 202 once the broker confirmed. ``GET /v1/messages`` pulls
leased egress messages, ``POST /v1/messages/ack`` acknowledges them. A broker or store that does not
answer is a 503 with Retry-After. Every refusal is a problem+json naming the field and the rule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub import CONTRACT_VERSION
from hub.errors import FatalError, TransientError
from hub.gateway import auth, checks, pulls
from hub.gateway.core import Gateway, authenticated, lower_headers
from hub.gateway.idempotency import body_digest
from hub.gateway.problems import Problem
from hub.gateway.service import Posted

log = logging.getLogger("hub.gateway")

RETRY_AFTER_SECONDS = 5
HEADER_CONTRACT_VERSION = "x-contract-version"
Handler = Callable[[Request], Awaitable[Response]]


def _contract_version(headers: Mapping[str, str]) -> str:
    version = headers.get(HEADER_CONTRACT_VERSION, CONTRACT_VERSION)
    if not (version.isdigit() and len(version) <= 8):
        raise Problem(422, "contract_version", "X-Contract-Version must be a number", "X-Contract-Version")
    return version


async def post_message(gateway: Gateway, request: Request) -> Response:
    headers = lower_headers(request)
    if not auth.Authenticator.has_credentials(headers):
        raise auth.unauthorized("send an API key (Authorization: Bearer, or X-Api-Key) or a signature")
    body = await checks.read_bounded(headers, request.stream(), gateway.max_body_bytes)
    partner = authenticated(gateway, request, body)
    kind = request.path_params["kind"]
    checks.check_kind(kind, gateway.allowed_kinds[partner])
    checks.check_content_type(headers)
    key = checks.idempotency_key(headers)
    version = _contract_version(headers)
    checks.check_json(body)
    posted = Posted(partner, kind, key, body, body_digest(body), version)
    async with gateway.publishing:
        accepted = await run_in_threadpool(gateway.service.accept, posted)
    answer = {"message_id": accepted.message_id, "kind": kind, "published": accepted.published}
    if not accepted.published:
        answer["detail"] = "already accepted with this Idempotency-Key and body: not published again"
    return JSONResponse(answer, 202)


def _unavailable(error: Exception) -> Problem:
    if isinstance(error, FatalError):  # a refusal: the gateway's settings need fixing
        log.error("gateway: %s", error)
    else:
        log.warning("gateway: %s", error)
    return Problem(
        503,
        "unavailable",
        "the broker or the store does not answer; retry later",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _instrumented(
    gateway: Gateway, route: str, handler: Callable[[Gateway, Request], Awaitable[Response]]
) -> Handler:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(gateway, request)
        except Problem as problem:
            response = problem.response()
        except (TransientError, FatalError) as error:
            response = _unavailable(error).response()
        except Exception as error:  # a bug: counted as a 5xx; the log names the type, never the values
            log.error("gateway: %s failed: %s", route, type(error).__name__)
            response = Problem(500, "internal", "the gateway failed; report it, then retry").response()
        gateway.metrics.answered(route, response.status_code, time.perf_counter() - started)
        return response

    return endpoint


async def healthz(gateway: Gateway, request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(gateway: Gateway, request: Request) -> Response:
    reason = gateway.ready()
    return PlainTextResponse(f"{reason or 'ready'}\n", 503 if reason else 200)


async def metrics(gateway: Gateway, request: Request) -> Response:
    gateway.metrics.leases.set(len(gateway.leases))
    gateway.metrics.ready.set(float(gateway.ready() is None))
    return Response(generate_latest(gateway.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def routes(gateway: Gateway) -> list[Route]:
    def route(
        path: str, name: str, handler: Callable[[Gateway, Request], Awaitable[Response]], method: str
    ) -> Route:
        return Route(path, _instrumented(gateway, name, handler), methods=[method])

    return [
        route("/v1/messages", "pull", pulls.pull, "GET"),
        route("/v1/messages/ack", "ack", pulls.ack, "POST"),
        route("/v1/messages/{kind}", "post_message", post_message, "POST"),
        route("/healthz", "healthz", healthz, "GET"),
        route("/readyz", "readyz", readyz, "GET"),
        route("/metrics", "metrics", metrics, "GET"),
    ]


def application(gateway: Gateway, lifespan: object = None) -> Starlette:
    async def not_found(request: Request, exc: Exception) -> Response:
        gateway.metrics.answered("other", 404, 0.0)
        return Problem(404, "not_found", "no such route", "path").response()

    return Starlette(
        routes=routes(gateway),
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,  # type: ignore[arg-type]
    )
