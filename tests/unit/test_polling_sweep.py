"""The sweep's rules over a stub feed: pages settled in order, no progress means the end, the loop
counts a failure and goes on until told to stop, and tells its health how the sweeps went."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from prometheus_client import REGISTRY

from hub.bus.ingress import ingress_message
from hub.delivery.contract import PartnerUnavailable
from hub.envelope import Outbound
from hub.health import Answer, SweepHealth
from hub.polling.sweep import Page, Skipped, run, sweep

FEED = "test.feed"


def _message(oid: str) -> Outbound:
    return ingress_message("postal", "shipment.status", b"{}", message_id=oid, user_id="postal", timestamp=0)


class StubFeed:
    name = FEED

    def __init__(self, pages: dict[str | None, Page], failures: int = 0) -> None:
        self.pages = pages
        self.failures = failures
        self.asked: list[str | None] = []

    def page(self, after: str | None) -> Page:
        self.asked.append(after)
        if self.failures:
            self.failures -= 1
            raise PartnerUnavailable("http_503")
        return self.pages.get(after, Page([], None, full=False))


class MemoryCursors:
    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.history: list[str] = []

    def load(self, feed: str) -> str | None:
        return self.saved.get(feed)

    def save(self, feed: str, cursor: str) -> None:
        self.saved[feed] = cursor
        self.history.append(cursor)


def test_pages_are_settled_in_order_and_skips_are_not_published() -> None:
    feed = StubFeed(
        {
            None: Page([_message("a"), Skipped("foreign_order")], "b", full=True),
            "b": Page([_message("c")], "c", full=False),
        }
    )
    published: list[str | None] = []
    cursors = MemoryCursors()

    def publish(messages: Sequence[Outbound]) -> None:
        published.extend(message.properties.message_id for message in messages)

    swept = sweep(feed, publish, cursors)
    assert published == ["a", "c"]
    assert cursors.history == ["b", "c"]
    assert (swept.pages, swept.published, swept.skipped) == (2, 2, 1)


def test_a_feed_that_answers_the_cursors_own_document_again_ends_the_sweep() -> None:
    feed = StubFeed({"a": Page([_message("a")], "a", full=True)})
    cursors = MemoryCursors()
    cursors.save(FEED, "a")
    assert sweep(feed, lambda messages: None, cursors).pages == 0
    assert feed.asked == ["a"]


def test_the_loop_counts_a_failed_sweep_and_stops_when_told() -> None:
    before = REGISTRY.get_sample_value("hub_poll_errors_total", {"feed": FEED, "reason": "http_503"}) or 0.0
    stop = threading.Event()
    feed = StubFeed({}, failures=1)
    original = feed.page

    def page_then_stop(after: str | None) -> Page:
        if len(feed.asked) >= 1:
            stop.set()  # the second sweep is the last
        return original(after)

    feed.page = page_then_stop  # type: ignore[method-assign]
    run(feed, lambda messages: None, MemoryCursors(), 0.0, stop)
    assert len(feed.asked) == 2
    after = REGISTRY.get_sample_value("hub_poll_errors_total", {"feed": FEED, "reason": "http_503"})
    assert after == before + 1


def test_the_loop_exports_its_interval_for_the_stale_feed_alert() -> None:
    stop = threading.Event()
    stop.set()  # no sweep: the interval is there before the first one ends
    run(StubFeed({}), lambda messages: None, MemoryCursors(), 90.0, stop)
    assert REGISTRY.get_sample_value("hub_poll_interval_seconds", {"feed": FEED}) == 90.0


def test_the_loop_is_ready_once_a_sweep_reached_the_end_and_not_while_sweeps_fail() -> None:
    stop = threading.Event()
    health = SweepHealth(stop)
    feed = StubFeed({None: Page([_message("a")], "a", full=False)}, failures=1)
    seen: list[Answer] = []  # readiness as each sweep starts
    original = feed.page

    def page_and_look(after: str | None) -> Page:
        seen.append(health.readiness())
        if len(seen) == 3:
            stop.set()  # the third sweep is the last
        return original(after)

    feed.page = page_and_look  # type: ignore[method-assign]
    assert health.liveness().reason == "alive (starting)"
    run(feed, lambda messages: None, MemoryCursors(), 0.0, stop, health=health)
    assert seen == [
        Answer(False, "starting"),
        Answer(False, "last sweep failed: http_503"),  # the first sweep failed
        Answer(True, "ready"),  # the second reached the end of the feed
    ]
    assert health.liveness() == Answer(True, "alive")  # the loop beat
    assert health.readiness() == Answer(False, "stopping")
