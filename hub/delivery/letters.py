"""Egress messages in and dead letters out: an AMQP delivery read as an ``EgressMessage``, and the
dead letter of one the partner refused (or the hub could not read).

A dead letter keeps the message as it was (body, id, properties) and adds the reason, the partner's
code, a detail and where it came from, so ``hub dead-letters replay --egress`` can send it back to
``egress.<partner>`` unchanged. Its headers never hold a value of the body: the detail is the
partner's words already redacted by the adapter (hub.delivery.redact), or a fixed text of the hub's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import orjson

from hub.bus.topology import egress_dead_letter_exchange
from hub.delivery.contract import EgressMessage
from hub.envelope import (
    HEADER_PARTNER_CODE,
    Delivery,
    Outbound,
    dead_letter_of,
)


class EgressReason(StrEnum):
    """The ``x-hub-reason`` of egress dead letters (``hub.dead.egress.<partner>``)."""

    PARTNER_REFUSED = "partner_refused"  # the partner's service refused it for good
    MALFORMED_EGRESS = "malformed_egress"  # not a message the runner can send: no JSON body, no id


class Malformed(Exception):
    """A delivery that is no egress message; ``detail`` names what is missing, never a value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def egress_message(delivery: Delivery) -> EgressMessage:
    """``delivery`` as the adapter sees it; ``Malformed`` when it cannot be sent."""
    properties = delivery.properties
    if not properties.message_id:
        raise Malformed("property message_id is missing")
    kind = properties.type or delivery.routing_key
    if not kind:
        raise Malformed("property type is missing")
    try:
        payload = orjson.loads(delivery.body)
    except orjson.JSONDecodeError:
        raise Malformed("the body is not JSON") from None
    return EgressMessage(
        message_id=properties.message_id,
        kind=kind,
        dossier=properties.correlation_id or "",  # no dossier: such messages share one lane
        body=delivery.body,
        payload=payload,
        headers=dict(properties.headers),
    )


def dead_letter(
    delivery: Delivery,
    reason: EgressReason,
    detail: str,
    code: str | None = None,
    now: datetime | None = None,
) -> Outbound:
    """The dead letter of ``delivery`` on ``hub.dead.egress.<partner>``."""
    more = {} if code is None else {HEADER_PARTNER_CODE: code}
    exchange = egress_dead_letter_exchange(delivery.partner)
    return dead_letter_of(delivery, exchange, str(reason), detail, now or datetime.now(UTC), **more)
