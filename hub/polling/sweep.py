"""One sweep of a feed, page after page from the saved cursor to the end, and the loop of sweeps.

A page is settled in this order: its messages are published and confirmed by the broker, then the
cursor moves to its last document. A failure between the two leaves the cursor where it was: the
next sweep publishes the same messages again under the same ``message_id``, which the hub
acknowledges as duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import DBAPIError

from hub.delivery.contract import PartnerRefused, PartnerUnavailable
from hub.envelope import Outbound
from hub.errors import TransientError
from hub.health import SweepHealth
from hub.polling import metrics
from hub.store.database import StoreUnavailable

log = logging.getLogger("hub.polling")


@dataclass(frozen=True)
class Skipped:
    """A document not published, and why (a metric label: a short fixed word)."""

    reason: str


@dataclass(frozen=True)
class Page:
    items: Sequence[Outbound | Skipped]  # one per document, in feed order
    last_id: str | None  # the cursor after this page; None: the page was empty
    full: bool  # as many documents as asked for: another page may follow


class Feed(Protocol):
    name: str

    def page(self, after: str | None) -> Page:
        """The page after the document ``after`` (from the start when None)."""
        ...


class Cursors(Protocol):
    def load(self, feed: str) -> str | None: ...

    def save(self, feed: str, cursor: str) -> None: ...


Publish = Callable[[Sequence[Outbound]], None]  # returns once the broker confirmed every message


@dataclass
class Swept:
    pages: int = 0
    published: int = 0
    skipped: int = 0
    reached_end: bool = False  # False: stopped between pages


def sweep(
    feed: Feed,
    publish: Publish,
    cursors: Cursors,
    stop: threading.Event | None = None,
    health: SweepHealth | None = None,
) -> Swept:
    """Settle every page after the saved cursor; stop early when ``stop`` is set between pages.
    ``health`` is told after each page that the loop is alive: a long backlog is no stall."""
    swept = Swept()
    after = cursors.load(feed.name)
    while stop is None or not stop.is_set():
        page = feed.page(after)
        if page.last_id is None or page.last_id == after:
            break  # empty, or a feed that answered the cursor's own document again: no progress
        _settle(feed.name, page, publish, cursors, swept)
        if health is not None:
            health.beat()
        after = page.last_id
        if not page.full:
            break
    else:
        return swept  # stopped between pages: the end of the feed was not reached
    metrics.LAST_SUCCESS.labels(feed.name).set(time.time())
    swept.reached_end = True
    return swept


def _settle(name: str, page: Page, publish: Publish, cursors: Cursors, swept: Swept) -> None:
    assert page.last_id is not None
    messages = [item for item in page.items if isinstance(item, Outbound)]
    if messages:
        publish(messages)
    cursors.save(name, page.last_id)
    metrics.CURSOR_SAVED.labels(name).set(time.time())
    metrics.PAGES.labels(name).inc()
    metrics.PUBLISHED.labels(name).inc(len(messages))
    for item in page.items:
        if isinstance(item, Skipped):
            metrics.SKIPPED.labels(name, item.reason).inc()
    swept.pages += 1
    swept.published += len(messages)
    swept.skipped += len(page.items) - len(messages)


# What ends one sweep and is tried again at the next: the partner, the broker or the store failing.
SWEEP_FAILURES = (PartnerUnavailable, PartnerRefused, TransientError, DBAPIError)


def counted_failure(feed: str, error: Exception) -> str:
    """Count a sweep's failure; its short label: the partner's reason, or which dependency failed."""
    if isinstance(error, PartnerUnavailable):
        reason = error.reason
    elif isinstance(error, PartnerRefused):
        reason = error.code
    elif isinstance(error, DBAPIError | StoreUnavailable):
        reason = "store"
    else:
        reason = "broker"
    metrics.ERRORS.labels(feed, reason).inc()
    return reason


def run(
    feed: Feed,
    publish: Publish,
    cursors: Cursors,
    interval_seconds: float,
    stop: threading.Event,
    *,
    health: SweepHealth | None = None,
) -> None:
    """Sweep, pause ``interval_seconds``, again, until ``stop`` is set (SIGTERM): a failed sweep is
    counted and logged, without the document or the partner's words, and the next one retries.
    ``health`` hears each iteration's beat, and whether the sweep reached the end or failed."""
    health = health if health is not None else SweepHealth(stop)
    metrics.INTERVAL.labels(feed.name).set(interval_seconds)
    while not stop.is_set():
        health.beat()
        try:
            swept = sweep(feed, publish, cursors, stop, health)
        except SWEEP_FAILURES as error:
            reason = counted_failure(feed.name, error)
            health.swept(reason)
            log.warning("polling %s failed (%s); again in %.0f s", feed.name, reason, interval_seconds)
        else:
            if swept.reached_end:
                health.swept(None)
            if swept.pages:
                log.info(
                    "polled %s: %d pages, %d published, %d skipped",
                    feed.name,
                    swept.pages,
                    swept.published,
                    swept.skipped,
                )
        health.beat(sleeping=interval_seconds)
        stop.wait(interval_seconds)
