"""Prometheus metrics. Labels are bounded sets (partners, known kinds, reason codes): never ids,
dossier codes or anything a citizen typed, so the series count stays flat however many messages flow.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("hub_messages_received_total", "Ingress messages taken from a queue", ["partner"])
FORWARDED = Counter(
    "hub_messages_forwarded_total",
    "Ingress messages settled with their outputs confirmed",
    ["partner", "kind"],
)
BY_VERSION = Counter(
    "hub_messages_by_version_total",
    "Ingress messages forwarded, by the contract version they were sent in (only versions the setting "
    "contract_versions accepts): when an old version's line stops growing, its partner has moved on",
    ["partner", "kind", "version"],
)
PUBLISHED = Counter(
    "hub_messages_published_total", "Egress messages confirmed by the broker", ["partner", "kind"]
)
DEAD_LETTERED = Counter(
    "hub_dead_letters_total", "Ingress messages dead-lettered by the hub", ["partner", "reason"]
)
FLAGGED = Counter(
    "hub_input_flags_total",
    "Accepted ingress messages with something worth counting (e.g. a failing S10 check digit)",
    ["partner", "flag"],
)
DUPLICATES = Counter(
    "hub_duplicates_total", "Ingress messages acknowledged as duplicates, not forwarded again", ["partner"]
)
RETRIED = Counter(
    "hub_retries_total",
    "Retries by cause: a publish refused (publish), a processing failure (handler), a store read or "
    "commit (store), a broker or database connection attempt (connect)",
    ["cause"],
)
PROCESSING = Histogram(
    "hub_processing_seconds", "From receipt to acknowledgement of one ingress message", ["partner"]
)
IN_FLIGHT = Gauge("hub_in_flight_messages", "Ingress messages received and not yet acknowledged")
CONNECTED = Gauge("hub_broker_connected", "1 while the worker is connected to the broker")
# The two audit times (epoch seconds) whose gap is HubAuditCheckpointTooOld: an idle chain needs no
# new checkpoint, so the checkpoint's age alone would alert on every quiet night.
AUDIT_LAST_RECORD = Gauge(
    "hub_audit_last_record_timestamp_seconds", "When this worker last appended records to the audit log"
)
AUDIT_LAST_CHECKPOINT = Gauge(
    "hub_audit_last_checkpoint_timestamp_seconds",
    "When the newest signed audit checkpoint in the store was signed (read at start and at each append)",
)
PAUSED = Gauge(
    "hub_paused",
    "1 while the worker takes no new work because a dependency is down (store or publish)",
    ["cause"],
)
PARKED = Counter(
    "hub_parked_total", "Ingress messages that went to wait for their dossier or earlier steps", ["partner"]
)
PARKED_WAITING = Gauge(
    "hub_parked_messages",
    "Messages waiting in the park (the broker's count of hub.park.<partner>)",
    ["partner"],
)
# The overdue-risk radar (hub.reports.radar), one series per unit owning work today: a bounded set.
DUE_SOON = Gauge(
    "hub_dossiers_due_soon",
    "Dossiers with no result yet due within radar_within_working_days working days (refreshed every "
    "radar_refresh_seconds by `hub run` while it serves metrics)",
    ["unit"],
)
OVERDUE = Gauge("hub_dossiers_overdue", "Dossiers with no result yet whose due date has passed", ["unit"])
ROUTED = Counter("hub_messages_routed_total", "Ingress messages routed to their partition", ["partner"])
READY = Gauge(
    "hub_ready",
    "1 while the process is ready (/readyz answers 200): consuming from the broker, the store answering",
)


@cache
def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: label lookups cost more than the increment."""
    return metric.labels(*labels)


# The delivery runner (`hub deliver <partner>`, hub.delivery): calls to a partner's HTTP service.
DELIVERY_CALLS = Counter(
    "hub_delivery_calls_total",
    "Calls to a partner's service by result: accepted, unavailable (retried) or refused (dead-lettered)",
    ["partner", "result"],
)
DELIVERY_SECONDS = Histogram(
    "hub_delivery_call_seconds", "Duration of one call to a partner's service", ["partner"]
)
DELIVERY_BREAKER = Gauge(
    "hub_delivery_breaker_state", "The partner's circuit breaker: 0 closed, 1 half-open, 2 open", ["partner"]
)
DELIVERY_RETRIES = Counter(
    "hub_delivery_retries_total",
    "Calls that will be tried again after the partner was unavailable",
    ["partner"],
)
DELIVERY_DEAD_LETTERS = Counter(
    "hub_delivery_dead_letters_total",
    "Egress messages dead-lettered to hub.dead.egress.<partner>, by reason",
    ["partner", "reason"],
)
DELIVERY_HELD = Gauge(
    "hub_delivery_held_messages",
    "Egress messages taken and not yet acknowledged (at most the prefetch)",
    ["partner"],
)
