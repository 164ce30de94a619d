"""A vhost per test on the local RabbitMQ, through the management API (rabbitmqctl as a fallback)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, unquote

HOST = os.environ.get("HUB_TEST_RABBIT_HOST", "127.0.0.1")
AMQP_PORT = 5672
MANAGEMENT = f"http://{HOST}:15672/api"
USER = PASSWORD = "guest"


def reachable(port: int = AMQP_PORT) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def management_answers() -> bool:
    """Whether the management API serves requests (it comes up after AMQP does)."""
    try:
        _api("GET", "/overview")
    except (OSError, urllib.error.URLError):
        return False
    return True


def _api(method: str, path: str, body: bytes | None = None) -> None:
    request = urllib.request.Request(f"{MANAGEMENT}{path}", data=body, method=method)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _get(path: str) -> Any:
    request = urllib.request.Request(f"{MANAGEMENT}{path}")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def queue_names(vhost: str) -> set[str]:
    """The queues of ``vhost`` (management API)."""
    return {queue["name"] for queue in _get(f"/queues/{quote(vhost, safe='')}")}


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost(name: str) -> str:
    """Create ``name`` with full rights for guest; returns its AMQP URL."""
    if reachable(15672):
        _api("PUT", f"/vhosts/{quote(name, safe='')}")
        rights = b'{"configure": ".*", "write": ".*", "read": ".*"}'
        _api("PUT", f"/permissions/{quote(name, safe='')}/{USER}", rights)
    else:
        _ctl("add_vhost", name)
        _ctl("set_permissions", "-p", name, USER, ".*", ".*", ".*")
    return f"amqp://{USER}:{PASSWORD}@{HOST}:{AMQP_PORT}/{quote(name, safe='')}"


def delete_vhost(name: str) -> None:
    try:
        if reachable(15672):
            _api("DELETE", f"/vhosts/{quote(name, safe='')}")
        else:
            _ctl("delete_vhost", name)
    except (urllib.error.URLError, subprocess.CalledProcessError):
        pass  # a vhost left behind is harmless; names are unique


def create_user(name: str, password: str, vhost: str) -> None:
    """A broker user with full rights on ``vhost`` (management API only)."""
    body = f'{{"password": "{password}", "tags": ""}}'.encode()
    _api("PUT", f"/users/{quote(name, safe='')}", body)
    rights = b'{"configure": ".*", "write": ".*", "read": ".*"}'
    _api("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(name, safe='')}", rights)


def delete_user(name: str) -> None:
    with contextlib.suppress(urllib.error.URLError):
        _api("DELETE", f"/users/{quote(name, safe='')}")


def close_connections(vhost: str) -> None:
    """Close every client connection to ``vhost``, as a broker restart would."""
    _ctl("close_all_connections", "--vhost", vhost, "closed by the test")


def api_get(path: str) -> Any:
    """A management API resource as JSON (raises when the API does not answer)."""
    request = urllib.request.Request(f"{MANAGEMENT}{path}")
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def vhost_of(url: str) -> str:
    return unquote(url.rsplit("/", 1)[1])


def queue_consumers(vhost: str, queue: str) -> list[dict[str, Any]]:
    """The consumers of ``queue``, each with its connection's name and whether it is the active one."""
    found: list[dict[str, Any]] = api_get(f"/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}").get(
        "consumer_details", []
    )
    return found
