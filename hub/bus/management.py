"""RabbitMQ's management API, read-only: the queue figures ``hub status`` reports.

Its address is ``HUB_MANAGEMENT_URL`` (``http://user:password@host:15672``, optionally with the
path prefix a proxy adds); unset, it is derived from ``HUB_BROKER_URL``: each of its hosts on port
15672 over http (15671 over https for ``amqps://``), with the same user and password. The vhost is
always the broker URL's. Texts name the setting with the password masked, never the password.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from hub.bus.urls import BrokerAddress
from hub.errors import ConfigError, FatalError, TransientError
from hub.exits import Exit

SETTING = "HUB_MANAGEMENT_URL"
PORTS = {False: 15672, True: 15671}  # RabbitMQ's defaults: http, https
TIMEOUT_SECONDS = 10.0
QUEUE_COLUMNS = "name,messages_ready,messages_unacknowledged,consumers"


class ManagementUrlError(ConfigError, ValueError):
    """A management URL the hub cannot read (a ``ValueError`` too, for settings validation). Its
    text names the rule, never the password."""


class ManagementRefused(FatalError):
    """The management API refused the login, or knows no such vhost: retrying cannot help."""

    exit_code = Exit.BROKER_REFUSED


class ManagementUnreachable(TransientError):
    """No management API answered (down, wrong host or port, a timeout)."""


@dataclass(frozen=True)
class ManagementAddress:
    """Where the API is (``base``: scheme, host, port and path prefix, no credentials) and as whom."""

    base: str
    user: str
    password: str = field(repr=False)
    derived: bool = False  # from HUB_BROKER_URL, not set itself: errors say so

    def masked(self) -> str:
        scheme, rest = self.base.split("://", 1)
        shown = f"{scheme}://{quote(self.user, safe='')}:****@{rest}"
        return f"{shown}, derived from HUB_BROKER_URL" if self.derived else shown


@dataclass(frozen=True)
class QueueFigures:
    """One queue as the management API counts it (figures up to its statistics interval old)."""

    name: str
    ready: int
    unacknowledged: int
    consumers: int

    @property
    def depth(self) -> int:
        """Messages the queue holds: waiting, or delivered and not yet acknowledged."""
        return self.ready + self.unacknowledged


def parse_management_url(url: str) -> ManagementAddress:
    """The address ``url`` names: ``http(s)://user:password@host[:port][/prefix]``; a trailing
    ``/api`` is accepted and dropped (the hub adds it)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ManagementUrlError("must start with http:// or https://")
    if parts.query or parts.fragment:
        raise ManagementUrlError("query parameters and fragments are not read")
    userinfo, at, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if not at or not user:
        raise ManagementUrlError("needs a user and password (http://user:password@host:15672)")
    if not host:
        raise ManagementUrlError("names no host (http://user:password@host:15672)")
    try:
        parts.port  # noqa: B018  (urlsplit checks the port only when asked)
    except ValueError:
        raise ManagementUrlError("the port must be a number from 1 to 65535") from None
    prefix = parts.path.rstrip("/").removesuffix("/api")
    base = f"{parts.scheme.lower()}://{host}{prefix}"
    return ManagementAddress(base, unquote(user), unquote(password))


def derived_addresses(broker: BrokerAddress) -> tuple[ManagementAddress, ...]:
    """The management API on each broker host, in the broker URL's order, as its user."""
    scheme = "https" if broker.tls else "http"
    port = PORTS[broker.tls]
    hosts = (f"[{h.name}]" if ":" in h.name else h.name for h in broker.hosts)
    return tuple(
        ManagementAddress(f"{scheme}://{host}:{port}", broker.user, broker.password, derived=True)
        for host in hosts
    )


class ManagementApi:
    """Reads from the first address that answers, trying them in order (a cluster's nodes)."""

    def __init__(self, addresses: Sequence[ManagementAddress], timeout: float = TIMEOUT_SECONDS) -> None:
        if not addresses:
            raise ConfigError(f"{SETTING}: no management API address")
        self._addresses = tuple(addresses)
        self._timeout = timeout

    def queues(self, vhost: str) -> dict[str, QueueFigures]:
        """Every queue of ``vhost`` by name, in one request (one consistent set of figures)."""
        found = self._get(f"/api/queues/{quote(vhost, safe='')}?columns={QUEUE_COLUMNS}", vhost)
        return {str(q["name"]): _figures(q) for q in found}

    def _get(self, path: str, vhost: str) -> Any:
        failures = []
        for address in self._addresses:
            try:
                return self._request(address, path)
            except urllib.error.HTTPError as error:
                _refusal(error, address, vhost)  # raises for a refused login or an unknown vhost
                failures.append(f"{address.masked()}: HTTP {error.code}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", error)
                failures.append(f"{address.masked()}: {' '.join(str(reason).split())}")
        raise ManagementUnreachable(f"{SETTING}: the management API does not answer ({'; '.join(failures)})")

    def _request(self, address: ManagementAddress, path: str) -> Any:
        request = urllib.request.Request(f"{address.base}{path}")
        token = base64.b64encode(f"{address.user}:{address.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            return json.load(response)


def _refusal(error: urllib.error.HTTPError, address: ManagementAddress, vhost: str) -> None:
    rules = {
        401: "the management API refused the login: wrong user or password, or the user lacks the "
        "'monitoring' tag (rabbitmqctl set_user_tags USER monitoring)",
        403: "the user may not read this vhost's queues (rabbitmqctl set_permissions)",
        404: f"no vhost {vhost!r} (the broker URL's path), or the URL's path is not the management API",
    }
    rule = rules.get(error.code)
    if rule is not None:
        raise ManagementRefused(f"{SETTING} ({address.masked()}): {rule}")


def _figures(queue: dict[str, Any]) -> QueueFigures:
    # A queue declared a moment ago has no statistics yet: its figures are absent, and zero.
    return QueueFigures(
        name=str(queue["name"]),
        ready=int(queue.get("messages_ready") or 0),
        unacknowledged=int(queue.get("messages_unacknowledged") or 0),
        consumers=int(queue.get("consumers") or 0),
    )
