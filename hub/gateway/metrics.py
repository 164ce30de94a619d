"""The gateway's metrics, in a registry of its own (``/metrics`` of ``hub gateway serve``).

Labels are fixed vocabularies: the route's name (not its path, which holds the kind a client typed),
the status class, and the partner only once authenticated (configured partners: a bounded set).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

ROUTES = ("post_message", "pull", "ack", "healthz", "readyz", "metrics", "other")


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_gateway_requests_total",
            "HTTP requests answered, by route and status class (2xx, 4xx, 5xx)",
            ["route", "status_class"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_gateway_request_seconds",
            "Time to answer a request, by route",
            ["route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.published = Counter(
            "hub_gateway_published_total",
            "Messages published to a partner's ingress and confirmed by the broker",
            ["partner"],
            registry=self.registry,
        )
        self.repeats = Counter(
            "hub_gateway_repeats_total",
            "Requests repeating an accepted Idempotency-Key with the same body (not published again)",
            ["partner"],
            registry=self.registry,
        )
        self.conflicts = Counter(
            "hub_gateway_conflicts_total",
            "Requests re-using an accepted Idempotency-Key with another body (409)",
            ["partner"],
            registry=self.registry,
        )
        self.pulled = Counter(
            "hub_gateway_pulled_total",
            "Egress messages handed out by pulls",
            ["partner"],
            registry=self.registry,
        )
        self.acked = Counter(
            "hub_gateway_acked_total", "Pulled messages acknowledged", ["partner"], registry=self.registry
        )
        self.leases = Gauge("hub_gateway_leases", "Pulls held for acknowledgement", registry=self.registry)
        # The name every hub process exports, so that one alert (HubNotReady) covers them all.
        self.ready = Gauge(
            "hub_ready",
            "1 while the gateway is ready (/readyz answers 200): the store and the broker answered lately",
            registry=self.registry,
        )

    def answered(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, f"{status // 100}xx").inc()
        self.latency.labels(route).observe(seconds)
