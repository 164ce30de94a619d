"""Who may do what on the broker, as data: the users and permissions ``hub topology show
--definitions`` adds to the topology (docs/runbook.md, "Broker users and permissions").

Three roles, each a set of RabbitMQ permissions on the hub's vhost (regular expressions over
exchange and queue names, anchored; ``""`` matches nothing):

- a **partner** configures nothing, writes only its ``ingress.<partner>`` exchange and reads only
  its ``egress.<partner>`` queue. Exchanges and queues share the permission's names, so reading
  ``egress.<partner>`` also lets it bind *from* the exchange of that name: a topic permission with
  nothing readable on that exchange closes it (an ``exchange.bind`` of its egress into its ingress
  would feed the hub's answers back as its messages). RabbitMQ itself refuses a ``user_id`` other
  than the publisher's own, so a partner cannot speak for another;
- the **hub** (``hub run``, ``hub deliver``) configures nothing: it declares its queues passively
  only. It reads its ingress, partition and presence queues, and the egress queues ``hub deliver``
  takes to partners that speak HTTP; it writes the exchanges its worker publishes to: the partition
  exchange (routed messages and claim probes), park, dead-letter, egress and events, and the egress
  dead-letter exchanges ``hub deliver`` puts refused messages on;
- an **operator** configures, writes and reads every entity of the topology: ``hub topology
  apply`` (declaring a queue with a dead-letter exchange needs write on that exchange and read on
  the queue; binding needs write on the queue and read on the exchange), ``hub dead-letters
  show/replay`` and ``hub parked show``. Its ``monitoring`` tag lets it read the management API's
  queue figures (``hub status``).

The broker's own dead-lettering (delivery limit, park TTL, rejected probes) needs no user's right.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hub.bus.topology import (
    DEAD_EXCHANGE,
    EVENTS_EXCHANGE,
    EVENTS_LOG,
    PARTITIONS_EXCHANGE,
    WORKERS_QUEUE,
    egress_exchange,
)
from hub.errors import ConfigError

HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
NOTHING = ""  # RabbitMQ's way to grant no name at all
SALT_BYTES = 4  # as RabbitMQ salts its own hashes
OPERATOR_TAGS = ("monitoring",)  # reads every vhost's queue figures: `hub status`
SHARED_ENTITIES = (PARTITIONS_EXCHANGE, DEAD_EXCHANGE, WORKERS_QUEUE, EVENTS_EXCHANGE, EVENTS_LOG)


@dataclass(frozen=True)
class BrokerUser:
    name: str
    password_hash: str  # "": no password set yet; RabbitMQ refuses every login until one is
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Permission:
    user: str
    configure: str
    write: str
    read: str


@dataclass(frozen=True)
class TopicPermission:
    user: str
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class Roles:
    """Which broker user plays which role, and the passwords known for them."""

    partners: Mapping[str, tuple[str, ...]]  # partner -> its users
    hub: str
    operators: tuple[str, ...]
    passwords: Mapping[str, str]


@dataclass(frozen=True)
class Access:
    users: tuple[BrokerUser, ...]
    permissions: tuple[Permission, ...]
    topic_permissions: tuple[TopicPermission, ...]


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64 of salt + SHA-256(salt + password)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _one_of(names: Iterable[str]) -> str:
    return "(" + "|".join(re.escape(name) for name in sorted(set(names))) + ")"


def _exactly(*alternatives: str) -> str:
    return "^(" + "|".join(alternatives) + ")$"


def partner_permission(user: str, partners: Iterable[str]) -> Permission:
    """``partners``: those ``user`` publishes for (usually one)."""
    mine = _one_of(partners)
    return Permission(user, NOTHING, f"^ingress\\.{mine}$", f"^egress\\.{mine}$")


def hub_permission(user: str, partners: Iterable[str]) -> Permission:
    every = _one_of(partners)
    writes = _exactly(
        f"egress\\.{every}",
        f"hub\\.(dead|park|dead\\.egress)\\.{every}",
        re.escape(PARTITIONS_EXCHANGE),
        re.escape(EVENTS_EXCHANGE),
    )
    reads = _exactly(
        f"hub\\.ingress\\.{every}",
        r"hub\.partition\.[0-9]+",
        re.escape(WORKERS_QUEUE),
        f"egress\\.{every}",  # `hub deliver` consumes the egress of a partner that speaks HTTP
    )
    return Permission(user, NOTHING, writes, reads)


def operator_permission(user: str, partners: Iterable[str]) -> Permission:
    every = _one_of(partners)
    entities = _exactly(
        f"(ingress|egress)\\.{every}",
        f"hub\\.(ingress|dead|park|dead\\.egress)\\.{every}",
        r"hub\.partition\.[0-9]+",
        *(re.escape(name) for name in SHARED_ENTITIES),
    )
    return Permission(user, entities, entities, entities)


def _roles_by_user(roles: Roles) -> dict[str, str]:
    """user -> its role; a user with two roles is refused (RabbitMQ keeps one permission per user)."""
    found: dict[str, str] = {}

    def take(user: str, role: str) -> None:
        if found.get(user, role) != role:
            raise ConfigError(
                f"broker user {user!r} is both {found[user]} and {role}: give each role its own user"
            )
        found[user] = role

    for users in roles.partners.values():
        for user in users:
            take(user, "partner")
    take(roles.hub, "hub")
    for user in roles.operators:
        take(user, "operator")
    return found


def access(roles: Roles, salt: bytes | None = None) -> Access:
    """The users, permissions and topic permissions for ``roles`` (passwords hashed with a fresh
    salt each, or ``salt`` for tests)."""
    by_user = _roles_by_user(roles)
    partners = sorted(roles.partners)
    spoken_for: dict[str, list[str]] = {}
    for partner, users in sorted(roles.partners.items()):
        for user in users:
            spoken_for.setdefault(user, []).append(partner)
    permissions = [partner_permission(user, mine) for user, mine in spoken_for.items()]
    permissions.append(hub_permission(roles.hub, partners))
    permissions.extend(operator_permission(user, partners) for user in roles.operators)
    topic = [
        TopicPermission(user, egress_exchange(partner), NOTHING, NOTHING)
        for user, mine in spoken_for.items()
        for partner in mine
    ]
    accounts = [
        BrokerUser(
            user,
            password_hash(roles.passwords[user], salt) if user in roles.passwords else "",
            OPERATOR_TAGS if role == "operator" else (),
        )
        for user, role in by_user.items()
    ]
    return Access(tuple(accounts), tuple(permissions), tuple(topic))


def access_definitions(found: Access, vhost: str) -> dict[str, object]:
    """``found`` in RabbitMQ's definitions format, for ``vhost``."""
    return {
        "users": [
            {
                "name": user.name,
                "password_hash": user.password_hash,
                "hashing_algorithm": HASHING_ALGORITHM,
                "tags": list(user.tags),
            }
            for user in found.users
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": p.user, "vhost": vhost, "configure": p.configure, "write": p.write, "read": p.read}
            for p in found.permissions
        ],
        "topic_permissions": [
            {"user": t.user, "vhost": vhost, "exchange": t.exchange, "write": t.write, "read": t.read}
            for t in found.topic_permissions
        ],
    }
