"""Vietnam Post's tracking documents (pulled: the post publishes no webhook) as ``shipment.status``
messages on ``ingress.postal``.

``TrackingFeed`` pages ``GET {tracking}?pagesize=N&lastId=<$oid>`` (HAL: ``_embedded["rh:doc"]``)
with the adapter's token; ``to_message`` turns one document into the contract's message, whose
``message_id`` is the document's ``$oid``, so a page published twice is a duplicate, not a double.

What is skipped, counted, and never published:
- ``foreign_order``: an ``OrderNumber`` the hub did not place (table ``postal_orders``): the
  customer account's other orders come back too;
- ``malformed``: not an object, no ``$oid``, or no ``OrderNumber`` text: nothing to name it by or to
  check it against. Logged with its ``$oid`` (if any) only, so one bad document never blocks the feed.

Everything else is published as converted, even a value the contract refuses (an S10 shape, a
missing field): the hub dead-letters it with the rule and the field path, where operations see it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, select

from connectors.postal.http import authorized_send, credentials, http_client
from connectors.values import vn_time_text
from hub import CONTRACT_VERSION, VIETNAM
from hub.bus.ingress import ingress_message
from hub.delivery.contract import PartnerUnavailable
from hub.envelope import Outbound
from hub.polling.sweep import Page, Skipped
from hub.settings.postal_http import PostalHttpSettings
from hub.store.dossiers import postal_orders

log = logging.getLogger("hub.polling.postal")

FEED = "postal.tracking"
KIND = "shipment.status"
FOREIGN, MALFORMED = "foreign_order", "malformed"
# The document's fields the contract's message has; CustomerCode (the hub's own account) is not one.
TEXT_FIELDS = ("OrderNumber", "ItemCode", "StatusMessage", "POSID", "Notes")
EMPTY_AS_TEXT = ("StatusMessage", "Notes")  # the post sends null where the contract has ""


class TrackingFeed:
    """The post's tracking documents, page by page, for ``hub.polling.sweep``."""

    name = FEED

    def __init__(
        self, settings: PostalHttpSettings, engine: Engine, user_id: str, client: httpx.Client | None = None
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._user_id = user_id
        self._client = client or http_client(settings)
        self._tokens = credentials(settings, self._client)

    def page(self, after: str | None) -> Page:
        size = self._settings.poll_page_size
        documents = self._documents(size, after)
        placed = placed_orders(self._engine, _order_numbers(documents))
        now = int(time.time())
        items = [to_message(document, placed, self._user_id, now) for document in documents]
        ids = [oid for document in documents if (oid := document_id(document)) is not None]
        if documents and not ids:
            raise PartnerUnavailable("page_without_ids")  # nothing to page on: try again later
        return Page(items, ids[-1] if ids else None, full=len(documents) >= size)

    def close(self) -> None:
        self._client.close()

    def _documents(self, size: int, after: str | None) -> list[Any]:
        query = {"pagesize": str(size)} | ({} if after is None else {"lastId": after})
        url = self._settings.url(self._settings.tracking_path)
        request = self._client.build_request("GET", url, params=query)
        response = authorized_send(self._settings, self._client, self._tokens, request)
        try:
            documents = response.json()["_embedded"]["rh:doc"]
        except (ValueError, KeyError, TypeError):
            raise PartnerUnavailable("malformed_page") from None
        if not isinstance(documents, list):
            raise PartnerUnavailable("malformed_page")
        return documents


def placed_orders(engine: Engine, numbers: Collection[str]) -> set[str]:
    """Which of ``numbers`` are orders the hub placed."""
    if not numbers:
        return set()
    query = select(postal_orders.c.number).where(postal_orders.c.number.in_(sorted(numbers)))
    with engine.connect() as connection:
        return set(connection.scalars(query))


def document_id(document: Any) -> str | None:
    """The document's ``$oid``, when it has one."""
    if not isinstance(document, Mapping) or not isinstance(document.get("_id"), Mapping):
        return None
    oid = document["_id"].get("$oid")
    return oid if isinstance(oid, str) and oid else None


def to_message(document: Any, placed: Collection[str], user_id: str, now: int) -> Outbound | Skipped:
    """The document as the ``shipment.status`` the post would have published, or why not."""
    oid = document_id(document)
    if oid is None or not isinstance(document.get("OrderNumber"), str):
        log.warning("tracking document %s skipped: no $oid or no OrderNumber text", oid or "without id")
        return Skipped(MALFORMED)
    if document["OrderNumber"] not in placed:
        return Skipped(FOREIGN)
    body = json.dumps(shipment_status(document), ensure_ascii=False).encode()
    return ingress_message(
        "postal",
        KIND,
        body,
        message_id=oid,
        user_id=user_id,
        timestamp=now,
        contract_version=CONTRACT_VERSION,
    )


def shipment_status(document: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's ``shipment.status`` body of a tracking document (fields it lacks stay absent)."""
    body: dict[str, Any] = {name: _text(document[name]) for name in TEXT_FIELDS if name in document}
    for name in EMPTY_AS_TEXT:
        if body.get(name) is None:
            body[name] = ""
    if "StatusCode" in document:
        code = document["StatusCode"]
        body["StatusCode"] = int(code) if isinstance(code, str) and code.isdigit() else code
    if "EventTime" in document:
        body["EventTime"] = contract_time(document["EventTime"])
    if document.get("CODAmount") is not None:
        body["CODAmount"] = document["CODAmount"]
    return body


def contract_time(value: Any) -> Any:
    """``yyyyMMddHHmmss`` as it is; ISO text (with an offset, or Vietnam time without) converted to
    it; anything else as it is, for the hub's validation to name."""
    if not isinstance(value, str) or (len(value) == 14 and value.isdigit()):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return vn_time_text(moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM))


def _text(value: Any) -> Any:
    """A number where the contract has text (a POSID sent as 900100) as its text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _order_numbers(documents: Sequence[Any]) -> set[str]:
    return {
        number
        for document in documents
        if isinstance(document, Mapping) and isinstance(number := document.get("OrderNumber"), str)
    }
