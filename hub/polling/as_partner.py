"""The broker connection a poller publishes through: as the partner's own broker user, so the
message's ``user_id`` is the partner's and the hub's ingress checks (``ingress_users``) hold as for
anything the partner publishes itself.

The user is the broker URL's when the partner's ingress accepts it (development: ``guest`` in
``default_ingress_users``), else the first of the partner's users (``ingress_users``, or the user
named like the partner) with its password from ``broker_passwords``; host and vhost are the broker
URL's.
"""

from __future__ import annotations

from urllib.parse import quote

from hub.bus.transport import Transport
from hub.errors import ConfigError
from hub.settings import Settings


def partner_transport(settings: Settings, partner: str) -> Transport:
    address = settings.broker_address()
    if address is None:
        raise ConfigError("polling needs RabbitMQ: set HUB_BROKER_URL=amqp://...")
    accepted = settings.accepted_users(partner)
    if address.user in accepted:
        return Transport(settings.broker_url_value())
    user = accepted[0]
    password = settings.broker_passwords.get(user)
    if password is None:
        raise ConfigError(
            f"the {partner} poller publishes as broker user {user!r}: set its password in "
            f"HUB_BROKER_PASSWORDS (or accept the broker URL's user in HUB_INGRESS_USERS)"
        )
    credentials = f"{quote(user, safe='')}:{quote(password.get_secret_value(), safe='')}"
    hosts = ",".join(str(host) for host in address.hosts)
    return Transport(f"{address.scheme}://{credentials}@{hosts}/{quote(address.vhost, safe='')}")
