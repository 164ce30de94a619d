"""Broker URLs: every common spelling means one address, and kombu and pika are given that address."""

from __future__ import annotations

import re

import kombu
import pytest

from hub.bus.pika_session import connection_parameters
from hub.bus.transport import Transport, kombu_connection
from hub.bus.urls import BrokerUrlError, Host, parse_broker_url
from hub.errors import ConfigError
from hub.settings import load_settings

LOCAL = (Host("h", 5672),)

# url -> (hosts, user, password, vhost, tls)
SPELLINGS = {
    "amqp://u:p@h": (LOCAL, "u", "p", "/", False),
    "amqp://u:p@h/": (LOCAL, "u", "p", "/", False),
    "amqp://u:p@h//": (LOCAL, "u", "p", "/", False),  # kombu's and Celery's default vhost
    "amqp://u:p@h/%2F": (LOCAL, "u", "p", "/", False),
    "amqp://u:p@h/%2f": (LOCAL, "u", "p", "/", False),
    "amqp://u:p@h/name": (LOCAL, "u", "p", "name", False),
    "amqp://u:p@h/%2Fname": (LOCAL, "u", "p", "/name", False),
    "amqp://u:p@h//name": (LOCAL, "u", "p", "/name", False),
    "amqp://u:p@h/a%2Fb": (LOCAL, "u", "p", "a/b", False),
    "amqp://u:p@h/a/b": (LOCAL, "u", "p", "a/b", False),
    "amqp://u:p@h/caf%C3%A9": (LOCAL, "u", "p", "café", False),
    "amqp://h/x": (LOCAL, "guest", "guest", "x", False),
    "amqp://u%40org:p%3A%2F%40w@h:5673/x": ((Host("h", 5673),), "u@org", "p:/@w", "x", False),
    "AMQPS://u:p@h/x": ((Host("h", 5671),), "u", "p", "x", True),
    "amqps://u:p@h:5000/": ((Host("h", 5000),), "u", "p", "/", True),
    "amqp://u:p@[::1]:5673/x": ((Host("::1", 5673),), "u", "p", "x", False),
    "amqp://u:p@a:5672,b:5673,c/x": (
        (Host("a", 5672), Host("b", 5673), Host("c", 5672)),
        "u",
        "p",
        "x",
        False,
    ),
}


@pytest.mark.parametrize("url", SPELLINGS)
def test_each_spelling_means_one_address(url: str) -> None:
    hosts, user, password, vhost, tls = SPELLINGS[url]
    address = parse_broker_url(url)
    assert (address.hosts, address.user, address.password, address.vhost, address.tls) == (
        hosts,
        user,
        password,
        vhost,
        tls,
    )


@pytest.mark.parametrize("url", SPELLINGS)
def test_kombu_and_pika_are_given_the_same_hosts_user_and_vhost(url: str) -> None:
    hosts, user, password, vhost, _tls = SPELLINGS[url]
    transport = Transport(url)
    connection = kombu_connection(parse_broker_url(url))  # not connected: kombu only parses
    # kombu reads the first host now and each failover URL when it switches to it.
    kombu_hosts = [connection, *(kombu.Connection(alternate) for alternate in connection.alt[1:])]
    assert [(c.hostname, c.port, c.userid, c.password, c.virtual_host) for c in kombu_hosts] == [
        (host.name, host.port, user, password, vhost) for host in hosts
    ]
    pika_hosts = connection_parameters(parse_broker_url(url))
    assert [
        (p.host, p.port, p.credentials.username, p.credentials.password, p.virtual_host) for p in pika_hosts
    ] == [(host.name, host.port, user, password, vhost) for host in hosts]
    assert transport.user == user


def test_tls_is_asked_of_both_clients() -> None:
    address = parse_broker_url("amqps://u:p@rabbit.example/x")
    [parameters] = connection_parameters(address)
    assert parameters.ssl_options is not None
    assert parameters.ssl_options.server_hostname == "rabbit.example"  # the certificate is checked
    assert kombu_connection(address).transport_cls == "amqps"


BROKEN = {
    "http://u:p@h/x": "must start with amqp:// or amqps://",
    "u:p@h/x": "must start with amqp:// or amqps://",
    "amqp://u:s3cret@h/x?heartbeat=5": "query parameters",
    "amqp://u:s3cret@/x": "names no host",
    "amqp://u:s3cret@h1,,h2/x": "host 2 is empty",
    "amqp://u:s3cret@h1, h2/x": "host 2 is empty or has spaces",
    "amqp://u:s3cret@h:abc/x": "host 1: the port must be a number",
    "amqp://u:s3cret@h:0/x": "host 1: the port must be a number",
    "amqp://u:s3cret@h:70000/x": "host 1: the port must be a number",
    "amqp://u:s3cret@h1:5672,h2:x/x": "host 2: the port must be a number",
    "amqp://u:s3cret@::1/x": "IPv6 address is written [address]:port",
    "amqp://u:s3cret@[::1/x": "IPv6 address is written [address]:port",
    "amqp://:s3cret@h/x": "a password but no user",
}


@pytest.mark.parametrize("url", BROKEN)
def test_a_broken_url_is_refused_naming_the_rule_and_never_the_password(url: str) -> None:
    with pytest.raises(BrokerUrlError, match=re.escape(BROKEN[url])) as refused:
        parse_broker_url(url)
    assert "s3cret" not in str(refused.value)


def test_settings_refuse_a_broken_broker_url_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://hub:s3cret@h1:5672,h2:56x2/prod")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == "HUB_BROKER_URL: host 2: the port must be a number from 1 to 65535"


def test_settings_read_several_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://hub:s3cret@h1:5672,h2:5673/prod")
    address = load_settings().broker_address()
    assert address is not None
    assert address.hosts == (Host("h1", 5672), Host("h2", 5673))
    assert address.masked() == "amqp://hub:****@h1:5672,h2:5673/prod"


def test_the_masked_address_spells_the_default_vhost_unambiguously() -> None:
    assert parse_broker_url("amqp://hub:pw@h//").masked() == "amqp://hub:****@h:5672/%2F"
