"""Broker URLs, read in one place: both clients are built from the address parsed here.

kombu and pika each parse an ``amqp://`` URL their own way, and they disagree. For ``amqp://h//``
(the kombu and Celery spelling of the default vhost) kombu reads ``/`` and pika an empty name, which
RabbitMQ refuses as "vhost not found"; ``amqp://h//name`` is ``/name`` to kombu and empty to pika;
``amqp://h/a/b`` is ``a/b`` to kombu and ``a`` to pika. Neither accepts several hosts. So the hub
reads the URL once, here, and hands each client explicit values.

The vhost is the text after the first ``/`` of the path, percent-decoded; empty is the default vhost.
That is kombu's reading, and the only one under which every common spelling means what it says::

    amqp://h   amqp://h/   amqp://h//   amqp://h/%2F   -> "/"
    amqp://h/name                                      -> "name"
    amqp://h/%2Fname   amqp://h//name                  -> "/name"

Several hosts of one cluster are separated by commas: ``amqp://user:pass@h1:5672,h2:5672/vhost``.
The hub connects to the first that answers, and tries them in order again on every reconnect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from hub.errors import ConfigError

SCHEMES = {"amqp": False, "amqps": True}  # scheme -> TLS
PORTS = {False: 5672, True: 5671}
DEFAULT_USER = DEFAULT_PASSWORD = "guest"  # what both clients assume when the URL names no user
MAX_PORT = 65535


class BrokerUrlError(ConfigError, ValueError):
    """A broker URL the hub cannot read. A ``ValueError`` too, so settings validation reports it.
    Its text names the rule broken and never the URL's password."""


@dataclass(frozen=True)
class Host:
    name: str
    port: int

    def __str__(self) -> str:
        return f"[{self.name}]:{self.port}" if ":" in self.name else f"{self.name}:{self.port}"


@dataclass(frozen=True)
class BrokerAddress:
    """Where and as whom to connect: the hosts in the order to try them, one user and one vhost."""

    hosts: tuple[Host, ...]
    user: str
    password: str = field(repr=False)
    vhost: str
    tls: bool

    @property
    def scheme(self) -> str:
        return "amqps" if self.tls else "amqp"

    def kombu_urls(self) -> list[str]:
        """One URL per host, each spelled so that kombu reads back exactly this address."""
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        vhost = quote(self.vhost, safe="")
        return [f"{self.scheme}://{credentials}@{host}/{vhost}" for host in self.hosts]

    def kombu_url(self) -> str:
        """The hosts as kombu's failover list: URLs separated by ``;``."""
        return ";".join(self.kombu_urls())

    def masked(self) -> str:
        """The address as a URL with the password masked: for messages and logs."""
        hosts = ",".join(str(host) for host in self.hosts)
        return f"{self.scheme}://{quote(self.user, safe='')}:****@{hosts}/{quote(self.vhost, safe='')}"


def parse_broker_url(url: str) -> BrokerAddress:
    """The address ``url`` names; ``BrokerUrlError`` saying which rule it breaks."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in SCHEMES:
        raise BrokerUrlError("must start with amqp:// or amqps://")
    tls = SCHEMES[scheme.lower()]
    if "?" in rest or "#" in rest:
        raise BrokerUrlError("query parameters and fragments are not read; the hub sets its own timeouts")
    authority, _, path = rest.partition("/")
    userinfo, at, host_list = authority.rpartition("@")
    user, password = _credentials(userinfo) if at else (DEFAULT_USER, DEFAULT_PASSWORD)
    return BrokerAddress(
        hosts=_hosts(host_list, PORTS[tls]), user=user, password=password, vhost=unquote(path) or "/", tls=tls
    )


def _credentials(userinfo: str) -> tuple[str, str]:
    user, _, password = userinfo.partition(":")
    if not user:
        raise BrokerUrlError("names a password but no user (amqp://user:password@host/vhost)")
    return unquote(user), unquote(password)


def _hosts(host_list: str, default_port: int) -> tuple[Host, ...]:
    if not host_list:
        raise BrokerUrlError("names no host (amqp://user:password@host:port/vhost)")
    return tuple(_host(text, position, default_port) for position, text in enumerate(host_list.split(","), 1))


def _host(text: str, position: int, default_port: int) -> Host:
    if text.startswith("["):  # an IPv6 address: [::1]:5672
        name, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise BrokerUrlError(f"host {position}: an IPv6 address is written [address]:port")
        port_text = after[1:] if after else ""
    else:
        name, _, port_text = text.partition(":")
        if ":" in port_text:
            raise BrokerUrlError(f"host {position}: an IPv6 address is written [address]:port")
    if not name or any(character.isspace() for character in name):
        raise BrokerUrlError(f"host {position} is empty or has spaces; separate hosts with commas only")
    return Host(name, _port(port_text, position, default_port))


def _port(text: str, position: int, default_port: int) -> int:
    if not text:
        return default_port
    if not text.isdigit() or not 0 < int(text) <= MAX_PORT:
        raise BrokerUrlError(f"host {position}: the port must be a number from 1 to {MAX_PORT}")
    return int(text)
