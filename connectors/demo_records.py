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


def mismatches(partner: str, sent: Counter[Key], applied: Counter[Key]) -> list[str]:
    """Where ``applied`` is not each of ``sent`` exactly once; fewer times than sent is fine for a
    repeat (the partner's idempotency absorbs it)."""
    missing = len(sent.keys() - applied.keys())
    unasked = len(applied.keys() - sent.keys())
    repeated = sum(n - sent[key] for key, n in applied.items() if key in sent and n > sent[key])
    return [
        f"{partner}: {n} {what}"
        for n, what in (
            (missing, "egress messages its fake never applied"),
            (unasked, "changes its fake applied that no egress message asked for"),
            (repeated, "egress messages its fake applied more than once"),
        )
        if n
    ]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
