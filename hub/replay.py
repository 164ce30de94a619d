"""Replaying dead letters: an operator sends a rejected message through its ingress again, once the
cause is fixed (a missing agency added, a partner's bug corrected upstream, a store back up).

The message goes back to the exchange and routing key it first came to, with its body, id and
properties, minus the hub's rejection headers. RabbitMQ only lets a connection publish its own user
as ``user_id``, so a replayed message carries the operator's user, and the partner's original user in
``x-hub-replayed-from-user``: the hub accepts it when the operator is one of ``replay_users`` and the
original user is one the ingress accepts. It is then judged like any message (its id was never
forwarded, so it is not a duplicate).

An egress dead letter (``hub.dead.egress.<partner>``: the partner's HTTP service refused it, see
hub.delivery) goes back to ``egress.<partner>`` the same way, with its id, body and signature, for
``hub deliver`` to send again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace

from hub.bus.topology import dead_letter_queue, egress_dead_letter_queue, ingress_exchange
from hub.bus.transport import Transport
from hub.envelope import (
    HEADER_DETAIL,
    HEADER_ORIGINAL_EXCHANGE,
    HEADER_ORIGINAL_ROUTING_KEY,
    HEADER_ORIGINAL_USER_ID,
    HEADER_PARTNER_CODE,
    HEADER_REASON,
    HEADER_REJECTED_AT,
    HEADER_REPLAYED_FROM_USER,
    Delivery,
    Outbound,
)

# What the hub and the broker added when they rejected it (``x-first-death-*``: a prefix).
REJECTION_HEADERS = (
    HEADER_REASON,
    HEADER_DETAIL,
    HEADER_REJECTED_AT,
    HEADER_PARTNER_CODE,
    "x-death",
    "x-first-death-",
)


def replayed(letter: Delivery, operator: str) -> Outbound:
    """The message a dead letter was, as the operator ``operator`` publishes it again."""
    headers = dict(letter.properties.headers)
    exchange = str(headers.pop(HEADER_ORIGINAL_EXCHANGE, ingress_exchange(letter.partner)))
    routing_key = str(headers.pop(HEADER_ORIGINAL_ROUTING_KEY, letter.routing_key))
    original_user = headers.pop(HEADER_ORIGINAL_USER_ID, None) or letter.properties.user_id
    headers = {k: v for k, v in headers.items() if not k.startswith(REJECTION_HEADERS)}
    if original_user:
        headers[HEADER_REPLAYED_FROM_USER] = str(original_user)
    properties = replace(letter.properties, user_id=operator, headers=headers)
    return Outbound(exchange, routing_key, letter.body, properties)


def dead_letters(partner: str, egress: bool = False) -> str:
    """The queue of ``partner``'s dead letters: its ingress's, or with ``egress`` its egress's."""
    return egress_dead_letter_queue(partner) if egress else dead_letter_queue(partner)


def replay(
    transport: Transport,
    partner: str,
    *,
    operator: str,
    chosen: Callable[[Delivery], bool],
    limit: int,
    egress: bool = False,
) -> list[Delivery]:
    """Replay the dead letters of ``partner`` (its egress's with ``egress``) that ``chosen`` picks,
    looking at up to ``limit``; the others stay where they are. Each is taken off only once its
    replay was confirmed."""
    return transport.move(
        dead_letters(partner, egress),
        limit,
        partner,
        lambda d: replayed(d, operator) if chosen(d) else None,
    )


def matching(message_ids: Collection[str], reasons: Collection[str]) -> Callable[[Delivery], bool]:
    """Dead letters with one of ``message_ids`` and one of ``reasons`` (an empty filter takes all)."""

    def chosen(letter: Delivery) -> bool:
        by_id = not message_ids or letter.properties.message_id in message_ids
        reason = str(letter.properties.headers.get(HEADER_REASON, ""))
        return by_id and (not reasons or reason in reasons)

    return chosen
