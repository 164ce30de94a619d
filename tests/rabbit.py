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
from urllib.parse import quote, unquote, urlsplit

HOST = os.environ.get("HUB_TEST_RABBIT_HOST", "127.0.0.1")
AMQP_PORT = 5672
MANAGEMENT = f"http://{HOST}:15672/api"
USER = PASSWORD = "guest"
# RabbitMQ's collect_statistics_interval (its default): the management API's queue figures and
# message counters are at most this old, so a wait on them needs a deadline of a few intervals.
STATS_INTERVAL = 5.0


def reachable(port: int = AMQP_PORT) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _api(method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(f"{MANAGEMENT}{path}", data=body, method=method)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


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
    """A broker user with full rights on ``vhost`` (rabbitmqctl without the management API)."""
    if not reachable(15672):
        _ctl("add_user", name, password)
        _ctl("set_permissions", "-p", vhost, name, ".*", ".*", ".*")
        return
    body = f'{{"password": "{password}", "tags": ""}}'.encode()
    _api("PUT", f"/users/{quote(name, safe='')}", body)
    rights = b'{"configure": ".*", "write": ".*", "read": ".*"}'
    _api("PUT", f"/permissions/{quote(vhost, safe='')}/{quote(name, safe='')}", rights)


def delete_user(name: str) -> None:
    with contextlib.suppress(urllib.error.URLError, subprocess.CalledProcessError):
        if reachable(15672):
            _api("DELETE", f"/users/{quote(name, safe='')}")
        else:
            _ctl("delete_user", name)


def close_connections(vhost: str) -> None:
    """Close every client connection to ``vhost``, as a broker restart would."""
    _ctl("close_all_connections", "--vhost", vhost, "closed by the test")


# -- reading the broker's state through the management API (figures up to STATS_INTERVAL old) --------


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path[1:])


def _q(name: str) -> str:
    return quote(name, safe="")


def queue(vhost: str, name: str) -> dict[str, Any]:
    """The management API's view of queue ``name``: ``messages``, ``messages_ready``,
    ``messages_unacknowledged``, ``consumers``, ``arguments``, ``type``, ``message_stats``..."""
    found: dict[str, Any] = _api("GET", f"/queues/{_q(vhost)}/{_q(name)}")
    return found


def queues(vhost: str) -> dict[str, dict[str, Any]]:
    """Every queue of ``vhost`` by name."""
    return {q["name"]: q for q in _api("GET", f"/queues/{_q(vhost)}")}


def exchange(vhost: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = _api("GET", f"/exchanges/{_q(vhost)}/{_q(name)}")
    return found


def bindings(vhost: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _api("GET", f"/bindings/{_q(vhost)}")
    return found


def stat(item: dict[str, Any], name: str) -> int:
    """A message counter of a queue or exchange (``ack``, ``redeliver``, ``publish_in``...); 0 before
    the broker has counted any."""
    return int(item.get("message_stats", {}).get(name, 0))


def held(item: dict[str, Any]) -> int:
    """How many messages a queue holds, ready or delivered and not yet acknowledged."""
    return int(item.get("messages_ready", 0)) + int(item.get("messages_unacknowledged", 0))


def unbind(vhost: str, exchange: str, queue: str, routing_key: str) -> None:
    """Remove the binding ``exchange -> queue (routing_key)``."""
    path = f"/bindings/{_q(vhost)}/e/{_q(exchange)}/q/{_q(queue)}/{_q(routing_key)}"
    _api("DELETE", path)


def bind(vhost: str, exchange: str, queue: str, routing_key: str) -> None:
    body = json.dumps({"routing_key": routing_key, "arguments": {}}).encode()
    _api("POST", f"/bindings/{_q(vhost)}/e/{_q(exchange)}/q/{_q(queue)}", body)


def delete_queue(vhost: str, name: str) -> None:
    _api("DELETE", f"/queues/{_q(vhost)}/{_q(name)}")


def set_policy(vhost: str, name: str, pattern: str, definition: dict[str, Any]) -> None:
    """A queue policy on ``vhost`` (for instance a length limit that refuses publishes)."""
    body = {"pattern": pattern, "definition": definition, "apply-to": "queues", "priority": 10}
    _api("PUT", f"/policies/{_q(vhost)}/{_q(name)}", json.dumps(body).encode())


def queue_consumers(vhost: str, name: str) -> list[dict[str, Any]]:
    """The consumers of queue ``name``, each with its channel's details and whether it is active."""
    found: list[dict[str, Any]] = queue(vhost, name).get("consumer_details", [])
    return found


# -- users and permissions (the permission matrix) --------------------------------------------------


def import_definitions(definitions: dict[str, Any]) -> None:
    """Import ``definitions`` (users, vhosts, permissions, topology) as ``rabbitmqctl
    import_definitions`` would, through the management API."""
    _api("POST", "/definitions", json.dumps(definitions).encode())


def url_as(user: str, password: str, vhost: str) -> str:
    """The AMQP URL of ``vhost`` for ``user``."""
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{HOST}:{AMQP_PORT}/{_q(vhost)}"
