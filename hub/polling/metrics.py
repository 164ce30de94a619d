"""The pollers' metrics, labelled by feed (a fixed name such as ``postal.tracking``) and by reasons
from a short fixed vocabulary: never a document id or an order number."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PUBLISHED = Counter(
    "hub_poll_documents_published_total",
    "Feed documents published to the partner's ingress with the broker's confirmation",
    ["feed"],
)
SKIPPED = Counter(
    "hub_poll_documents_skipped_total",
    "Feed documents not published: foreign_order (an order the hub did not place), malformed",
    ["feed", "reason"],
)
PAGES = Counter("hub_poll_pages_total", "Feed pages fetched and settled (published, cursor saved)", ["feed"])
ERRORS = Counter(
    "hub_poll_errors_total",
    "Sweeps ended by a failure (the partner's reason such as timeout or http_503, broker, store); "
    "the next sweep starts again from the saved cursor",
    ["feed", "reason"],
)
LAST_SUCCESS = Gauge(
    "hub_poll_last_success_timestamp_seconds", "When a sweep last reached the end of the feed", ["feed"]
)
CURSOR_SAVED = Gauge(
    "hub_poll_cursor_saved_timestamp_seconds",
    "When the feed's cursor last moved (its age says how long nothing new was published)",
    ["feed"],
)
INTERVAL = Gauge(
    "hub_poll_interval_seconds",
    "The pause between two sweeps, set when the loop starts: the alert on a stale feed counts in it",
    ["feed"],
)
