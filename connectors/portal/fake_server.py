"""A fake DVCQG integration service over HTTP (Starlette), for adapter tests and the demo.

``FakePortalServer`` holds a ``PortalState`` (accounts, sessions, dossiers, progress, what it
received and applied) and fault switches that act on the next requests, whatever their path: a burst
of 500/503, 429 with ``Retry-After``, a malformed body, no answer (held until the client gives up),
and slow answers. Serve ``server.app`` with ``connectors.fake_http.serving``.

It checks requests as the real service would: the ``dstcode`` header (403 when wrong), a live
session, the envelope's and the service's required fields.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.portal.fake_state import BAD_SESSION, DATA_ERROR, PortalState, Received, answer

HANG_CAP_SECONDS = 30.0  # a held request is answered 500 after this, should the client never go
DISCONNECT_POLL_SECONDS = 0.01


@dataclass(slots=True)
class _Faults:
    """Counters of the faults still to serve: a hang first, then failures, throttles, malformed bodies."""

    hangs: int = 0
    failures: int = 0
    failure_status: int = 503
    failure_retry_after: str | None = None
    throttles: int = 0
    retry_after: str = "7"
    malformed: int = 0
    delay_seconds: float = 0.0

    def take(self) -> Response | None:
        """The answer the next request gets instead of the service's; None: no such fault is due."""
        if self.failures:
            self.failures -= 1
            headers = {"Retry-After": self.failure_retry_after} if self.failure_retry_after else None
            return Response("Service Unavailable", status_code=self.failure_status, headers=headers)
        if self.throttles:
            self.throttles -= 1
            return Response("Too Many Requests", status_code=429, headers={"Retry-After": self.retry_after})
        if self.malformed:
            self.malformed -= 1
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        return None


class FakePortalServer:
    """The fake service; ``state`` is what it holds, the methods below switch faults on."""

    def __init__(
        self,
        state: PortalState | None = None,
        auth_path: str = "/login",
        integration_path: str = "/service",
        proxy_sync_path: str = "/api/SynsTTHCC/DongBoHoSoMC",
    ) -> None:
        self.state = state or PortalState()
        self._faults = _Faults()
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route(auth_path, self._login, methods=["POST"]),
                Route(integration_path, self._service, methods=["POST"]),
                Route(proxy_sync_path, self._proxy_sync, methods=["POST"]),
            ]
        )

    # --- fault switches ----------------------------------------------------------------------
    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        with self._lock:
            self._faults.failures, self._faults.failure_status = count, status
            self._faults.failure_retry_after = retry_after

    def throttle_next(self, count: int, retry_after: str = "7") -> None:
        with self._lock:
            self._faults.throttles, self._faults.retry_after = count, retry_after

    def malformed_next(self, count: int) -> None:
        with self._lock:
            self._faults.malformed = count

    def hang_next(self, count: int) -> None:
        """The next ``count`` requests get no answer until the client closes the connection."""
        with self._lock:
            self._faults.hangs = count

    def slow(self, seconds: float) -> None:
        """Every answer from now on comes ``seconds`` late (0: on time)."""
        with self._lock:
            self._faults.delay_seconds = seconds

    # --- routes ------------------------------------------------------------------------------
    async def _login(self, request: Request) -> Response:
        body = await _json(request)
        shown = {"username": body.get("username")} if isinstance(body, dict) else None
        self.state.record(Received(request.url.path, request.headers.get("dstcode"), None, shown))
        faulted = await self._fault(request)
        if faulted is not None:
            return faulted
        if request.headers.get("dstcode") != self.state.dstcode:
            return JSONResponse({"message": "dstcode không hợp lệ"}, status_code=403)
        return JSONResponse(self.state.login(body))

    async def _service(self, request: Request) -> Response:
        body = await _json(request)
        service = body.get("service") if isinstance(body, dict) else None
        self.state.record(Received(request.url.path, request.headers.get("dstcode"), service, body))
        faulted = await self._fault(request)
        if faulted is not None:
            return faulted
        if request.headers.get("dstcode") != self.state.dstcode:
            return JSONResponse({"message": "dstcode không hợp lệ"}, status_code=403)
        return JSONResponse(self._serve(body))

    async def _proxy_sync(self, request: Request) -> Response:
        body = await _json(request)
        query = dict(request.query_params)
        self.state.record(Received(request.url.path, request.headers.get("dstcode"), None, body, query))
        faulted = await self._fault(request)
        if faulted is not None:
            return faulted
        if not query.get("MaDinhDanhDV"):
            return JSONResponse(answer(DATA_ERROR, "Thiếu MaDinhDanhDV"))
        return JSONResponse(self.state.sync(body, query.get("isUpdating", "").lower() == "true"))

    def _serve(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            return answer(DATA_ERROR, "Yêu cầu không hợp lệ")
        if not self.state.session_valid(body.get("session")):
            return answer(BAD_SESSION, "Session không hợp lệ hoặc đã hết hạn")
        if not body.get("madonvi"):
            return answer(DATA_ERROR, "Thiếu trường madonvi")
        return self._dispatch(body)

    def _dispatch(self, body: dict[str, Any]) -> dict[str, Any]:
        service = body.get("service")
        if service == "DongBoHoSoMC" and isinstance(body.get("isUpdating"), bool):
            return self.state.sync(body.get("data"), body["isUpdating"])
        if service == "CapNhatTienDoHoSoMC":
            return self.state.add_progress(body.get("data"))
        if service == "TraCuuHoSo":
            return self.state.lookup(body.get("MaHoSo"))
        return answer(DATA_ERROR, "Dịch vụ hoặc tham số không hợp lệ")

    # --- faults ------------------------------------------------------------------------------
    async def _fault(self, request: Request) -> Response | None:
        """The faulty answer this request gets, after the configured delay; None: serve it."""
        with self._lock:
            delay = self._faults.delay_seconds
            hang = self._faults.hangs > 0
            if hang:
                self._faults.hangs -= 1
            faulty = None if hang else self._faults.take()
        if delay:
            await asyncio.sleep(delay)
        if hang:
            await _held_until_client_leaves(request)
            return Response(status_code=500)
        return faulty


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


async def _held_until_client_leaves(request: Request) -> None:
    deadline = time.monotonic() + HANG_CAP_SECONDS
    while time.monotonic() < deadline and not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)
