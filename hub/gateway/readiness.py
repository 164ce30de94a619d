"""The gateway's readiness: the store and the broker answered lately.

Each is asked on a thread of its own (``hub.health.Probe``), so ``/readyz`` and the ``hub_ready``
gauge only read what the probes left and never wait on either. The broker is asked as each partner
the gateway serves, on the connection its pulls use: a passive declare of the partner's egress queue
every few seconds, one round trip on a connection already open. So a broker that is down, a partner's
login it refuses, or topology that is missing all make the gateway not ready, whether traffic flows
or not, and it is ready again once the broker answers, without a request having to try first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from hub.bus.topology import egress_queue
from hub.errors import FatalError, TransientError
from hub.health import Probe

log = logging.getLogger("hub.gateway")

BROKER_PROBE_SECONDS = 5.0
# Above a check's own worst case (connect and read timeouts, 5 s each by default): a probe hanging
# longer than this on a broker that does not answer counts as a failure.
BROKER_STALE_SECONDS = 15.0


class BrokerCheck(Protocol):
    def check(self, queue_name: str) -> None: ...


def broker_check(readers: Mapping[str, BrokerCheck]) -> Callable[[], None]:
    """One round trip to the broker as each partner (``EgressReader.check``); raises on the first
    partner the broker does not serve. The log says why once when a partner starts failing (the
    texts mask passwords), and once when it is served again: not every few seconds."""
    failing: set[str] = set()

    def check() -> None:
        for partner, reader in readers.items():
            try:
                reader.check(egress_queue(partner))
            except (TransientError, FatalError) as error:
                if partner not in failing:
                    failing.add(partner)
                    log.warning("gateway not ready: the broker does not serve %s: %s", partner, error)
                raise
            if partner in failing:
                failing.discard(partner)
                log.info("the broker serves %s again", partner)

    return check


class Readiness:
    """``reason()``: None when the store and the broker both answered lately, else why not."""

    def __init__(self, store: Probe, broker: Probe) -> None:
        self._probes = ((store, "store unavailable"), (broker, "broker unavailable"))

    def start(self) -> None:
        for probe, _ in self._probes:
            probe.start()

    def stop(self) -> None:
        for probe, _ in self._probes:
            probe.stop()

    def reason(self) -> str | None:
        for probe, unavailable in self._probes:
            answered = probe.state()
            if answered is None:
                return "starting"
            if not answered:
                return unavailable
        return None
