"""A fake of Vietnam Post's BCCI HTTP API behind a WSO2-style gateway, for tests and the demo.

``PostOffice`` is the state tests drive and read; ``app(office)`` is the Starlette application that
serves it (run it with ``connectors.fake_http.serving``). It answers as docs/adapters.md
describes: a client-credentials token endpoint checking the Basic credentials, orders by
``OrderNumber`` (``101`` for one it has), cancellations, and tracking documents as HAL pages after
``lastId``. Fault switches act on the next calls: a status (500, 503, 429 with ``Retry-After``), a
slow answer, no answer (the client times out), a malformed body, a refusal status. Everything it
keeps is bounded: the oldest entries go first.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

MAX_KEPT = 10_000  # orders, tracking documents and recorded requests, each
MAX_TOKENS = 100
MAX_FAULTS = 100  # switches waiting for their calls
OK, EXISTS, NOT_FOUND, INVALID = "100", "101", "102", "103"
_PHONE = re.compile(r"^0\d{9}$")
ENDPOINTS = ("token", "order", "cancel", "tracking")


@dataclass
class Fault:
    """What the next ``times`` calls (of ``endpoint``, or any) get instead of a normal answer."""

    kind: str  # "status", "slow", "hang", "malformed", "refuse"
    times: int
    endpoint: str | None = None
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    refusal: tuple[str, str] = ("", "")


@dataclass
class Recorded:
    """One request the fake received, and what it did with it."""

    endpoint: str
    method: str
    authorization: str | None
    access_token: str | None
    query: dict[str, str]
    body: Any
    status: int = 0
    applied: bool = False  # an order created or cancelled


@dataclass
class PostOffice:
    """The fake's state: credentials, tokens, orders, tracking documents, faults and its record."""

    consumer_key: str = "hub-consumer"
    consumer_secret: str = "hub-secret"
    token_lifetime: float = 3600.0
    customer_code: str = "HUB-SAMPLE"
    hang_seconds: float = 5.0  # a hung call answers after this, or when the fake closes
    orders: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    cancelled: set[str] = field(default_factory=set)
    documents: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_KEPT))
    record: deque[Recorded] = field(default_factory=lambda: deque(maxlen=MAX_KEPT))
    issued: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_TOKENS))  # every token given
    _tokens: OrderedDict[str, float] = field(default_factory=OrderedDict)  # the valid ones
    _faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    # --- switches -----------------------------------------------------------------------------

    def fail(
        self, status: int = 503, times: int = 1, retry_after: str | None = None, endpoint: str | None = None
    ) -> None:
        self._add(Fault("status", times, endpoint, status=status, retry_after=retry_after))

    def slow(self, seconds: float, times: int = 1, endpoint: str | None = None) -> None:
        self._add(Fault("slow", times, endpoint, seconds=seconds))

    def hang(self, times: int = 1, endpoint: str | None = None) -> None:
        self._add(Fault("hang", times, endpoint))

    def malformed(self, times: int = 1, endpoint: str | None = None) -> None:
        self._add(Fault("malformed", times, endpoint))

    def refuse(self, status: str, message: str, times: int = 1, endpoint: str | None = "order") -> None:
        self._add(Fault("refuse", times, endpoint, refusal=(status, message)))

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (401)."""
        with self._lock:
            self._tokens.clear()

    def close(self) -> None:
        """Release hung calls, so the server can stop."""
        self._closing.set()

    # --- tracking documents -------------------------------------------------------------------

    def track(self, order_number: str, status_code: int, event_time: str, **fields: Any) -> str:
        """Add a tracking document (of an order the hub placed or not); its ``$oid``."""
        document = {
            "CustomerCode": self.customer_code,
            "OrderNumber": order_number,
            "ItemCode": "EB123456785VN",
            "StatusCode": status_code,
            "StatusMessage": "Phát thành công",
            "EventTime": event_time,
            "POSID": "900100",
            "Notes": "",
            **fields,
        }
        return self.add_document(document)

    def add_document(self, document: dict[str, Any]) -> str:
        """Add any document, well formed or not, under the next ObjectId-like id."""
        with self._lock:
            oid = f"{next(self._ids):024x}"  # fixed width: text order is issue order
            self.documents.append({"_id": {"$oid": oid}, **document})
        return oid

    def page(self, size: int, after: str | None) -> list[dict[str, Any]]:
        with self._lock:
            later = [d for d in self.documents if after is None or _oid(d) > after]
        return later[:size]

    # --- what was applied ---------------------------------------------------------------------

    def applied(self, endpoint: str) -> list[Recorded]:
        return [entry for entry in list(self.record) if entry.endpoint == endpoint and entry.applied]

    def calls(self, endpoint: str) -> list[Recorded]:
        return [entry for entry in list(self.record) if entry.endpoint == endpoint]

    # --- used by the application --------------------------------------------------------------

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [*self._faults, fault][-MAX_FAULTS:]

    def take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (None, endpoint):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
            self.issued.append(token)
            while len(self._tokens) > MAX_TOKENS:
                self._tokens.popitem(last=False)
        return token

    def token_valid(self, token: str | None) -> bool:
        with self._lock:
            expiry = self._tokens.get(token or "")
        return expiry is not None and time.monotonic() < expiry

    def basic_ok(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.consumer_key}:{self.consumer_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def create(self, order: dict[str, Any]) -> tuple[str, str, bool]:
        """An order's answer (Status, Message) and whether it was applied."""
        number = str(order.get("OrderNumber", ""))
        for phone_field in ("SenderTel", "ReceiverTel"):
            phone = str(order.get(phone_field, ""))
            if not _PHONE.match(phone):
                return INVALID, f"Số điện thoại {phone} không hợp lệ", False  # echoes, as the real one
        with self._lock:
            if number in self.orders:
                return EXISTS, "Đơn hàng đã tồn tại", False
            self.orders[number] = order
            while len(self.orders) > MAX_KEPT:
                forgotten, _ = self.orders.popitem(last=False)
                self.cancelled.discard(forgotten)  # only orders it has are cancelled: bounded too
        return OK, "Thành công", True

    def cancel(self, number: str) -> tuple[str, str, bool]:
        with self._lock:
            if number not in self.orders:
                return NOT_FOUND, "Không tìm thấy đơn hàng", False
            applied = number not in self.cancelled
            self.cancelled.add(number)
        return OK, "Hủy thành công", applied

    async def hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._closing.is_set():
            await asyncio.sleep(0.01)


def _oid(document: dict[str, Any]) -> str:
    return str(document["_id"]["$oid"])


def app(office: PostOffice) -> Starlette:
    """The HTTP face of ``office``: token, order, cancel and tracking at the settings' default paths."""

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))  # no python-multipart needed
        entry = await _record(office, "token", request, form)
        if not office.basic_ok(request.headers.get("authorization")):
            return _answer(entry, JSONResponse({"error": "invalid_client"}, 401))
        if form.get("grant_type") != "client_credentials":
            return _answer(entry, JSONResponse({"error": "unsupported_grant_type"}, 400))
        lifetime = office.token_lifetime
        body = {"access_token": office.issue_token(), "token_type": "Bearer", "expires_in": lifetime}
        return _answer(entry, JSONResponse(body))

    async def order(request: Request) -> Response:
        entry = await _record(office, "order", request, await _json(request))
        if not _authorized(office, request):
            return _answer(entry, JSONResponse({"error": "invalid_token"}, 401))
        body = entry.body if isinstance(entry.body, dict) else {}
        status, message, entry.applied = office.create(body)
        return _answer(entry, JSONResponse({"Status": status, "Message": message}))

    async def cancel(request: Request) -> Response:
        entry = await _record(office, "cancel", request, None)
        if not _authorized(office, request):
            return _answer(entry, JSONResponse({"error": "invalid_token"}, 401))
        status, message, entry.applied = office.cancel(entry.query.get("OrderNumber", ""))
        return _answer(entry, JSONResponse({"Status": status, "Message": message}))

    async def tracking(request: Request) -> Response:
        entry = await _record(office, "tracking", request, None)
        if not _authorized(office, request):
            return _answer(entry, JSONResponse({"error": "invalid_token"}, 401))
        size = int(entry.query.get("pagesize", "100"))
        documents = office.page(size, entry.query.get("lastId") or None)
        body = {"_embedded": {"rh:doc": documents}, "_returned": len(documents)}
        return _answer(entry, JSONResponse(body))

    routes = [
        Route("/token", _faulty(office, "token", token), methods=["POST"]),
        Route("/vnpost/order/create", _faulty(office, "order", order), methods=["POST"]),
        Route("/vnpost/order/cancel", _faulty(office, "cancel", cancel), methods=["GET", "POST"]),
        Route("/vnpost/tracking", _faulty(office, "tracking", tracking), methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _faulty(office: PostOffice, endpoint: str, handler: Any) -> Any:
    """``handler``, unless a fault switch says otherwise for this call."""

    async def answer(request: Request) -> Response:
        fault = office.take_fault(endpoint)
        if fault is None:
            return await handler(request)  # type: ignore[no-any-return]
        if fault.kind in ("slow", "hang"):
            await office.hold(fault.seconds if fault.kind == "slow" else office.hang_seconds)
            return await handler(request)  # type: ignore[no-any-return]
        entry = await _record(office, endpoint, request, await _json(request))
        if fault.kind == "malformed":
            return _answer(entry, PlainTextResponse("<html>Gateway error</html>", 200))
        if fault.kind == "refuse":
            return _answer(entry, JSONResponse({"Status": fault.refusal[0], "Message": fault.refusal[1]}))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
        return _answer(entry, JSONResponse({"fault": fault.status}, fault.status, headers=headers))

    return answer


async def _record(office: PostOffice, endpoint: str, request: Request, body: Any) -> Recorded:
    entry = Recorded(
        endpoint,
        request.method,
        request.headers.get("authorization"),
        request.headers.get("access_token"),
        dict(request.query_params),
        body,
    )
    office.record.append(entry)
    return entry


def _answer(entry: Recorded, response: Response) -> Response:
    entry.status = response.status_code
    return response


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _authorized(office: PostOffice, request: Request) -> bool:
    """A valid token, in either header style the adapter may use."""
    if (bare := request.headers.get("access_token")) is not None:
        return office.token_valid(bare)
    kind, _, token = (request.headers.get("authorization") or "").partition(" ")
    return kind.lower() == "bearer" and office.token_valid(token)
