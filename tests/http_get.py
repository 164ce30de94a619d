"""A GET on the hub's health server, as a probe or a scraper sends it."""

from __future__ import annotations

import http.client
from dataclasses import dataclass

TIMEOUT = 5.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    content_type: str


def get(port: int, path: str, accept: str | None = None, method: str = "GET") -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, headers={"Accept": accept} if accept else {})
        response = connection.getresponse()
        return Reply(response.status, response.read().decode(), response.getheader("Content-Type", ""))
    finally:
        connection.close()


def answer(port: int, path: str) -> tuple[int, str]:
    """The status and the first line of the body (the reason of a probe)."""
    reply = get(port, path)
    return reply.status, reply.body.strip()
