"""The fakes' HTTP server: the connections it accepts send at once (TCP_NODELAY), so a fake's
answer is not held back about 40 ms by Nagle's algorithm waiting on the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

from connectors.fake_http import listening_socket


async def _nodelay_of_an_accepted_connection(sock: socket.socket) -> int:
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await loop.create_server(Accepted, sock=sock)  # as uvicorn serves the socket it is given
    _reader, writer = await asyncio.open_connection(*sock.getsockname())
    try:
        return await asyncio.wait_for(seen, 5)
    finally:
        writer.close()
        server.close()


def test_connections_accepted_on_the_fakes_socket_have_tcp_nodelay() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert asyncio.run(_nodelay_of_an_accepted_connection(sock)) != 0
    finally:
        sock.close()
