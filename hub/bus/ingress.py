"""A message as a partner publishes it to its ingress exchange: what tools, fakes and tests send."""

from __future__ import annotations

from hub.bus.topology import ingress_exchange
from hub.envelope import CONTENT_TYPE_JSON, HEADER_CONTRACT_VERSION, PERSISTENT, Outbound, Properties


def ingress_message(
    partner: str,
    kind: str,
    body: bytes,
    *,
    message_id: str,
    user_id: str,
    timestamp: int,
    contract_version: str = "1",
) -> Outbound:
    """A message as a partner publishes it to its ingress, with every property the contract asks."""
    return Outbound(
        exchange=ingress_exchange(partner),
        routing_key=kind,
        body=body,
        properties=Properties(
            message_id=message_id,
            content_type=CONTENT_TYPE_JSON,
            type=kind,
            timestamp=timestamp,
            user_id=user_id,
            delivery_mode=PERSISTENT,
            headers={HEADER_CONTRACT_VERSION: contract_version},
        ),
    )
