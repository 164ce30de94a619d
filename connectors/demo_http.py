"""`hub demo --http`: the portal and the post as HTTP fakes on 127.0.0.1, behind the real adapters.

After each round settles, the delivery runner (hub.delivery.runner, with connectors.portal.http and
connectors.postal.http) empties ``egress.portal`` and ``egress.postal`` into the fake portal and
the fake post, and what it settled is what the script reads. The post's answers do not go to
AMQP: each becomes a tracking document of the fake post, which the tracking poller (the sweep of
`hub poll postal`) publishes to ``ingress.postal``, beside documents of orders the hub never placed
(skipped). What a tracking page cannot carry is published directly: a message about an order the
post does not hold, and a copy of a document already polled (published again as a poller that
crashed before saving its cursor would, with the document's id). The one-stop-shop system stays on
AMQP.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from pydantic import SecretStr

from connectors.demo_delivery import deliver_egress
from connectors.demo_records import egress_keys, mismatches, portal_keys, postal_keys
from connectors.fake_http import serving
from connectors.portal.fake_server import FakePortalServer
from connectors.portal.fake_state import PortalState
from connectors.portal.http import PortalAdapter
from connectors.postal import fake_server
from connectors.postal.http import PostalAdapter
from connectors.postal.tracking import TrackingFeed, to_message
from hub.app import Hub
from hub.delivery.contract import Adapter
from hub.envelope import Delivery, Outbound
from hub.polling.cursors import CursorStore
from hub.polling.sweep import sweep
from hub.settings.portal_http import PortalHttpSettings
from hub.settings.postal_http import PostalHttpSettings

PORTAL, POSTAL = "portal", "postal"
PORTAL_DSTCODE, PORTAL_USER, PORTAL_PASSWORD = "H30", "hub", "hub-password"
# Orders of the post's other customers under the same account: the poller skips their documents.
FOREIGN_ORDERS = ("KH-KHAC-000001", "KH-KHAC-000002", "KH-KHAC-000003")
FOREIGN_EVENT_TIME = "20261130080000"
# The fakes forget their oldest records beyond a bound; the day's must all stay to be checked. A
# dossier makes about three egress messages to the portal and one tracking document.
KEPT_PER_DOSSIER = 5


class HttpPartners:
    """A ``hub.demo.Carrier``: the portal and the post over HTTP for the length of a ``with`` block."""

    def __init__(self, dossiers: int) -> None:
        kept = max(fake_server.MAX_KEPT, dossiers * KEPT_PER_DOSSIER)
        self.portal = FakePortalServer(
            PortalState(PORTAL_DSTCODE, {PORTAL_USER: PORTAL_PASSWORD}, capacity=kept)
        )
        self.post = fake_server.PostOffice(documents=deque(maxlen=kept), record=deque(maxlen=kept))
        self._servers = ExitStack()
        self._portal_settings = PortalHttpSettings()
        self._postal_settings = PostalHttpSettings()
        self._documents: dict[str, dict[str, Any]] = {}  # the script's message_id -> its document
        # Kept from round to round: a new HTTP client costs a TLS context (a tenth of a second).
        self._adapters: list[Adapter] = []
        self._feed: TrackingFeed | None = None
        self.delivered: dict[str, list[Delivery]] = {PORTAL: [], POSTAL: []}
        self.refused: Counter[str] = Counter()  # partner -> egress messages its fake refused
        self.unfinished: list[str] = []  # partners whose egress a round's runner did not empty
        self.figures: Counter[str] = Counter()

    def __enter__(self) -> HttpPartners:
        portal_url = self._servers.enter_context(serving(self.portal.app))
        postal_url = self._servers.enter_context(serving(fake_server.app(self.post)))
        self._portal_settings = PortalHttpSettings(
            base_url=portal_url,
            dstcode=PORTAL_DSTCODE,
            username=PORTAL_USER,
            password=SecretStr(PORTAL_PASSWORD),
        )
        self._postal_settings = PostalHttpSettings(
            base_url=postal_url,
            consumer_key=SecretStr(self.post.consumer_key),
            consumer_secret=SecretStr(self.post.consumer_secret),
        )
        self._adapters = [PortalAdapter(self._portal_settings), PostalAdapter(self._postal_settings)]
        for adapter in self._adapters:
            self._servers.callback(adapter.close)
        for number in FOREIGN_ORDERS:
            self.post.track(number, 5, FOREIGN_EVENT_TIME)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.post.close()
        self._servers.close()

    # -- the partners' messages to the hub ---------------------------------------------------------
    def send(self, hub: Hub, messages: Sequence[Outbound]) -> None:
        direct = [m for m in messages if m.exchange != f"ingress.{POSTAL}"]
        for message in messages:
            if message.exchange == f"ingress.{POSTAL}":
                direct += self._to_tracking(message, hub.transport.user)
        hub.transport.publish_confirmed(direct)
        if self._feed is None:
            self._feed = TrackingFeed(self._postal_settings, hub.ledger.engine, hub.transport.user)
            self._servers.callback(self._feed.close)
        swept = sweep(self._feed, hub.transport.publish_confirmed, CursorStore(hub.ledger.engine))
        self.figures["documents polled and published"] += swept.published
        self.figures["documents skipped (orders the hub did not place)"] += swept.skipped

    def _to_tracking(self, message: Outbound, user: str) -> list[Outbound]:
        """Nothing when ``message`` became a tracking document; else what to publish directly."""
        copied = self._documents.get(message.properties.message_id or "")
        if copied is not None:
            self.figures["copies of polled documents, published directly"] += 1
            again = to_message(copied, {copied["OrderNumber"]}, user, message.properties.timestamp or 0)
            assert isinstance(again, Outbound)  # it was published once, so it is no Skipped
            return [again]
        body = _json_object(message.body)
        if message.properties.type != "shipment.status" or body.get("OrderNumber") not in self.post.orders:
            self.figures["postal messages no tracking page carries, published directly"] += 1
            return [message]
        document = {"CustomerCode": self.post.customer_code, **body}
        oid = self.post.add_document(document)
        self._documents[message.properties.message_id or ""] = {"_id": {"$oid": oid}, **document}
        self.figures["tracking documents loaded into the fake post"] += 1
        return []

    # -- the hub's egress to the partners ----------------------------------------------------------
    def deliver(self, hub: Hub) -> dict[str, list[Delivery]]:
        """Run the delivery runner for the portal and the post until both egress queues are empty."""
        return {adapter.partner: self._run(hub, adapter) for adapter in self._adapters}

    def _run(self, hub: Hub, adapter: Adapter) -> list[Delivery]:
        settled = deliver_egress(hub, adapter)
        partner = adapter.partner
        self.delivered[partner] += settled.deliveries
        self.refused[partner] += settled.dead_letters
        if not settled.emptied:
            self.unfinished.append(partner)
        return settled.deliveries

    # -- checking what the fakes received ----------------------------------------------------------
    def calls(self) -> dict[str, int]:
        """HTTP requests each fake received, by endpoint."""
        portal = Counter(str(received.service or received.path) for received in self.portal.state.received())
        postal = Counter(entry.endpoint for entry in self.post.record)
        return {
            **{f"portal {name}": n for name, n in sorted(portal.items())},
            **{f"postal {name}": n for name, n in sorted(postal.items())},
        }

    def problems(self) -> list[str]:
        """Where what the fakes applied differs from what the runner delivered: every egress message
        must have reached its fake exactly once (a repeat the fake's idempotency absorbed is fine)."""
        refused = [f"{partner}: {n} egress messages refused" for partner, n in self.refused.items() if n]
        unfinished = [f"the runner did not empty egress.{partner} in time" for partner in self.unfinished]
        applied = {PORTAL: portal_keys(self.portal.state), POSTAL: postal_keys(self.post)}
        return [
            *unfinished,
            *refused,
            *(
                problem
                for partner, keys in applied.items()
                for problem in mismatches(partner, egress_keys(partner, self.delivered[partner]), keys)
            ),
        ]


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
