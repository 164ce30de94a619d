"""Helpers shared by the unit and integration tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from connectors.portal.fake import FakePortal
from hub import app
from hub.audit.personal import PersonalCatalogue
from hub.bus.session import OnConfirm, OnCounts, OnDelivery, Session, Tag
from hub.envelope import Outbound
from hub.event_seal import EventSealer, KeysInMemory
from hub.health import Health
from hub.schemas import CATALOGUE
from hub.schemas.registry import HEADER_FINGERPRINT, HEADER_SCHEMA, Registry
from hub.settings import Settings
from hub.store.keys import DataKeys
from hub.store.migrate import migrated_engine
from hub.worker import Worker
from tests.conftest import PROVINCE_UNIT

WAIT = 10.0
_REGISTRY = Registry.load(CATALOGUE)
_SEALER = EventSealer(PersonalCatalogue(_REGISTRY, {}))


def opened_event(event: Outbound, keys: KeysInMemory) -> dict[str, Any]:
    """A canonical event the pipeline published, decoded and its sealed fields opened with ``keys``."""
    key = keys.keys[event.properties.correlation_id or ""]
    assert key is not None, "the dossier was forgotten"
    return opened(event.properties.correlation_id or "", event.body, event.properties.headers, key)


def opened(dossier: str, body: bytes, headers: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """A canonical event's body as read from the stream, decoded and opened with its dossier's ``key``."""
    datum = _REGISTRY.decode(body, str(headers[HEADER_FINGERPRINT]))
    return _SEALER.open(str(headers[HEADER_SCHEMA]), dossier, datum, key)


def stored_key(settings: Settings, dossier: str) -> bytes | None:
    """The data key of ``dossier`` in the settings' store (None: forgotten)."""
    with migrated_engine(settings.database_url.get_secret_value()) as engine, engine.connect() as connection:
        return DataKeys(settings.keyring()).existing(connection, [dossier])[dossier]


@dataclass
class Running:
    hub: app.Hub
    worker: Worker


@contextmanager
def running(hub: app.Hub, health: Health | None = None) -> Iterator[Running]:
    """The hub's worker on a thread, with the topology applied; stopped and joined on exit."""
    hub.transport.apply_topology(hub.topology)
    worker = hub.worker(health)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        yield Running(hub, worker)
    finally:
        stop.set()
        thread.join(timeout=WAIT)
        assert not thread.is_alive()


def filings(portal: FakePortal, count: int, unit: str = PROVINCE_UNIT) -> list[Outbound]:
    """``count`` valid online filings for ``unit``, as the portal publishes them."""
    return [portal.message("dossier.submitted", portal.dossier_submitted(unit)) for _ in range(count)]


def eventually(check: Callable[[], bool], seconds: float = WAIT, interval: float = 0.05) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass: for state only a broker's or a store's
    answer shows (queue depths, statistics), where there is no event to wait on."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


class PassThroughSession(Session):
    """A session that hands everything to ``inner``: tests override the part they make fail."""

    def __init__(self, inner: Session) -> None:
        self._inner = inner

    def open(self, on_delivery: OnDelivery, on_confirm: OnConfirm) -> None:
        self._inner.open(on_delivery, on_confirm)

    def run_until(self, done: Callable[[], bool], tick: Callable[[], None], interval: float) -> None:
        self._inner.run_until(done, tick, interval)

    def publish(self, token: int, messages: Sequence[Outbound]) -> None:
        self._inner.publish(token, messages)

    def ack(self, tags: Collection[Tag]) -> None:
        self._inner.ack(tags)

    def requeue(self, tag: Tag) -> None:
        self._inner.requeue(tag)

    def queue_counts(self, queues: Sequence[str], then: OnCounts) -> None:
        self._inner.queue_counts(queues, then)

    def close(self) -> None:
        self._inner.close()
