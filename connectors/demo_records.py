"""What `hub demo --http` holds against the fakes' records: each egress message and each change a
fake applied, as a key that names the same thing on both sides (connectors.demo_http)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from connectors.portal.fake_state import PortalState
from connectors.postal.fake_server import PostOffice
from hub.envelope import Delivery

Key = tuple[str, str]  # (what, which): ("sync", the dossier record), ("order", its OrderNumber), ...
SYNC, PROGRESS, ORDER, CANCEL = "sync", "progress", "order", "cancel"
EGRESS_KINDS = {
    "DongBoHoSoMC": SYNC,
    "CapNhatTienDoHoSoMC": PROGRESS,
    "order.create": ORDER,
    "order.cancel": CANCEL,
}


def egress_keys(partner: str, deliveries: Iterable[Delivery]) -> Counter[Key]:
    """The egress messages the runner settled, as keys."""
    keys: Counter[Key] = Counter()
    for delivery in deliveries:
        what = EGRESS_KINDS.get(delivery.properties.type or delivery.routing_key, delivery.routing_key)
        payload = json.loads(delivery.body)
        keys[(what, payload["OrderNumber"] if partner == "postal" else _canonical(payload))] += 1
    return keys


def portal_keys(state: PortalState) -> Counter[Key]:
    """What the fake portal applied: a dossier created or updated (a re-sent one), a progress record."""
    return Counter(
        (PROGRESS if applied.action == PROGRESS else SYNC, _canonical(applied.record))
        for applied in state.applied()
    )


def postal_keys(office: PostOffice) -> Counter[Key]:
    """What the fake post applied: the orders it created and cancelled."""
    created = ((ORDER, str(entry.body["OrderNumber"])) for entry in office.applied("order"))
    cancelled = ((CANCEL, entry.query["OrderNumber"]) for entry in office.applied("cancel"))
    return Counter([*created, *cancelled])


def applied_more_often(sent: Counter[Key], applied: Counter[Key]) -> int:
    """Changes applied more often than their message was sent: a repeat no idempotency absorbed."""
    return sum(n - sent[key] for key, n in applied.items() if n > sent[key])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
