"""The broker's users and permissions from the settings, and what ``hub run`` warns about.

Partner ``p`` publishes as the users ``ingress_users[p]`` lists, or else as the user named ``p``;
the hub connects as ``broker_hub_user``; the operators are ``replay_users``. ``guest`` (RabbitMQ's
default user, whose password everyone knows) is accepted nowhere unless configured, and never
written into the definitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub.bus.permissions import Roles, access, access_definitions
from hub.bus.topology import Topology, rabbitmq_definitions
from hub.bus.urls import DEFAULT_USER
from hub.settings import Settings

# Read by RabbitMQ as an unknown key, so ignored on import; there for whoever opens the file.
PLACEHOLDER_NOTE = (
    "Users whose password_hash is empty cannot log in: set each password with `rabbitmqctl "
    "change_password USER` after importing, or set HUB_BROKER_PASSWORDS and regenerate with "
    "`hub topology show --definitions` (docs/broker-security.md)."
)


def roles(settings: Settings, partners: Iterable[str]) -> Roles:
    return Roles(
        partners={partner: tuple(settings.ingress_users.get(partner, [partner])) for partner in partners},
        hub=settings.broker_hub_user,
        operators=tuple(settings.replay_users),
        passwords={user: secret.get_secret_value() for user, secret in settings.broker_passwords.items()},
    )


def definitions(
    settings: Settings, topology: Topology, partners: Iterable[str], vhost: str
) -> dict[str, Any]:
    """The whole broker for ``vhost``: users, vhost, permissions, topic permissions, then the topology."""
    found = access(roles(settings, partners))
    described: dict[str, Any] = {}
    if any(not user.password_hash for user in found.users):
        described["hub_note"] = PLACEHOLDER_NOTE
    return described | access_definitions(found, vhost) | rabbitmq_definitions(topology, vhost)


def definitions_vhost(settings: Settings, chosen: str | None) -> str:
    """The vhost of the definitions: ``chosen``, else the broker URL's, else RabbitMQ's default ``/``."""
    if chosen is not None:
        return chosen
    address = settings.broker_address()
    return "/" if address is None else address.vhost


def guest_warnings(settings: Settings, partners: Iterable[str]) -> list[str]:
    """What ``hub run`` warns about: ``guest`` accepted on an ingress or for replays, or the hub
    connecting as ``guest``."""
    warnings = []
    accepting = [p for p in partners if DEFAULT_USER in settings.accepted_users(p)]
    if accepting:
        warnings.append(
            f"broker user {DEFAULT_USER!r} is accepted on ingress {', '.join(accepting)} (HUB_INGRESS_USERS "
            "or HUB_DEFAULT_INGRESS_USERS): anyone with its well-known password can speak for them"
        )
    if DEFAULT_USER in settings.replay_users:
        warnings.append(f"broker user {DEFAULT_USER!r} may replay dead letters (HUB_REPLAY_USERS)")
    address = settings.broker_address()
    if address is not None and address.user == DEFAULT_USER:
        warnings.append(
            f"the hub connects as broker user {DEFAULT_USER!r} (HUB_BROKER_URL): give it its own user "
            "(HUB_BROKER_HUB_USER, `hub topology show --definitions`)"
        )
    return warnings
