"""A small TCP proxy for fault tests: it stands between the hub and PostgreSQL or RabbitMQ on a port of
its own, and the test can cut it, restore it, slow it down or hold back what the server sends.

Toxiproxy is not installable here, so this is the tests' own: an asyncio loop on a daemon thread, one
pair of pumps per connection. A cut closes every connection and, until ``restore``, closes each new
one as soon as it is accepted, as a server that went away would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

CHUNK = 65536
T = TypeVar("T")


def closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago), so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(eq=False)
class _Link:
    """One client connection and its connection to the server."""

    number: int
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    flowing: asyncio.Event = field(default_factory=asyncio.Event)  # what the server sends goes on
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        for writer in (self.client, self.server):
            writer.close()
        for pump in self.pumps:
            pump.cancel()


class Proxy:
    """``with Proxy(port) as proxy:`` forwards 127.0.0.1:``proxy.port`` to 127.0.0.1:``port``."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._accepted = 0
        self._refusing = False
        self._latency = 0.0
        self._cut_on: bytes | None = None
        self.port = 0
        self.cut_happened = threading.Event()  # set by every cut, including one ``cut_on`` triggers

    # -- lifetime -----------------------------------------------------------------------------
    def __enter__(self) -> Proxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _shut(self) -> None:
        assert self._server is not None
        self._server.close()
        self._cut_links()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def _soon(self, function: Any, *args: Any) -> None:
        async def run() -> None:
            function(*args)

        self._call(run())

    @property
    def accepted(self) -> int:
        """How many connections came through so far."""
        return self._accepted

    # -- faults -------------------------------------------------------------------------------
    def cut(self) -> None:
        """Close every connection now, and each new one at once until ``restore``."""
        self._soon(self._cut)

    def cut_on(self, pattern: bytes) -> None:
        """Cut (without forwarding it) when a client sends ``pattern``: a server that dies just as,
        say, a write starts. Once only; ``cut_happened`` tells when."""
        self._soon(setattr, self, "_cut_on", pattern)

    def restore(self) -> None:
        """Accept and forward connections again."""
        self._soon(setattr, self, "_refusing", False)

    def slow_down(self, seconds: float) -> None:
        """Delay each chunk the server sends by ``seconds`` (0 for none)."""
        self._soon(setattr, self, "_latency", seconds)

    def hold_replies(self, number: int) -> None:
        """Hold back what the server sends on the ``number``-th connection (0: the first accepted),
        letting what the client sends through; ``release_replies`` sends it on."""
        self._soon(self._set_flowing, number, False)

    def release_replies(self, number: int) -> None:
        self._soon(self._set_flowing, number, True)

    def open_connections(self) -> list[int]:
        """The numbers of the connections open now, oldest first."""

        async def numbers() -> list[int]:
            return [link.number for link in self._links]

        return self._call(numbers())

    # -- on the loop --------------------------------------------------------------------------
    def _cut(self) -> None:
        self._refusing = True
        self._cut_links()
        self.cut_happened.set()

    def _cut_links(self) -> None:
        links, self._links = self._links, []
        for link in links:
            link.close()

    def _set_flowing(self, number: int, flowing: bool) -> None:
        for link in self._links:
            if link.number == number:
                (link.flowing.set if flowing else link.flowing.clear)()
                return
        raise LookupError(f"no open connection number {number}")

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        number, self._accepted = self._accepted, self._accepted + 1
        if self._refusing:
            client.close()
            return
        try:
            server_reader, server = await asyncio.open_connection(*self._upstream)
        except OSError:
            client.close()
            return
        link = _Link(number, client, server)
        link.flowing.set()
        self._links.append(link)
        link.pumps = [
            asyncio.create_task(self._pump(link, client_reader, server, upstream=True)),
            asyncio.create_task(self._pump(link, server_reader, client, upstream=False)),
        ]

    async def _pump(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        tail = b""
        try:
            while data := await reader.read(CHUNK):
                if upstream and self._cut_on is not None:
                    seen = tail + data
                    if self._cut_on in seen:
                        self._cut_on = None
                        self._cut()
                        return
                    tail = seen[-len(self._cut_on) :]
                if not upstream:
                    if self._latency:
                        await asyncio.sleep(self._latency)
                    await link.flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if link in self._links:
                self._links.remove(link)
            with contextlib.suppress(Exception):
                link.close()
