"""The delivery runner on the embedded broker (hub.bus.embedded_egress), as `hub demo --http` runs
it: everything delivered in each dossier's order and acknowledged, and no busy loop while every
call slot is taken."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

import kombu
import pytest

from hub.bus import memory
from hub.bus.transport import Transport
from hub.delivery.contract import EgressMessage, PartnerUnavailable
from hub.delivery.runner import Channel, Runner
from hub.envelope import Outbound, Properties
from hub.settings.delivery import DeliveryPolicy

PARTNER, QUEUE = "portal", "egress.portal"
CALL_SECONDS = 0.05
DOSSIERS, PER_DOSSIER = 4, 3


class SlowPartner:
    """Takes each message alone, a call lasting CALL_SECONDS; remembers what it was sent."""

    partner = PARTNER

    def __init__(self) -> None:
        self.received: list[tuple[str, int]] = []  # (dossier, step)

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        return [[message] for message in messages]

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        time.sleep(CALL_SECONDS)
        self.received += [(message.dossier, message.payload["step"]) for message in group]

    def probe(self) -> None:
        """Always answers."""

    def close(self) -> None:
        """Nothing to release."""


class CountedWaits:
    """The runner's channel, counting the waits that cannot wait at all."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.zero_waits = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.channel, name)

    def wait(self, seconds: float) -> None:
        self.zero_waits += seconds <= 0
        self.channel.wait(seconds)


@pytest.fixture
def transport() -> Iterator[Transport]:
    name = f"runner-{uuid.uuid4().hex}"
    transport = Transport(None, embedded=name)
    with transport.connection() as connection:
        kombu.Queue(QUEUE, kombu.Exchange("hub.egress", "direct"), PARTNER)(connection.channel()).declare()
    yield transport
    memory.forget_broker(name)


def egress(dossier: str, step: int) -> Outbound:
    properties = Properties(message_id=f"{dossier}-{step}", type="progress", correlation_id=dossier)
    return Outbound("hub.egress", PARTNER, json.dumps({"step": step}).encode(), properties)


def test_the_runner_delivers_the_embedded_egress_in_order_without_spinning(transport: Transport) -> None:
    sent = [egress(f"D{d}", step) for step in range(PER_DOSSIER) for d in range(DOSSIERS)]
    transport.publish_confirmed(sent)
    partner = SlowPartner()
    channels: list[CountedWaits] = []

    def connect() -> Channel:
        channels.append(CountedWaits(transport.egress_channel(QUEUE, 50, PARTNER)))
        return channels[-1]  # type: ignore[return-value]

    policy = DeliveryPolicy(concurrency=1, rate_per_second=None)
    Runner(partner, connect, policy, lambda _entries: None).run(threading.Event(), until_empty=True)

    for d in range(DOSSIERS):
        assert [step for dossier, step in partner.received if dossier == f"D{d}"] == list(range(PER_DOSSIER))
    assert len(partner.received) == len(sent)
    assert transport.depth(QUEUE) == 0
    # One call at a time and the others held: the runner waits for a call's end, it does not poll.
    assert sum(channel.zero_waits for channel in channels) < len(sent)


class DownThenBack:
    """Unavailable for its first calls, so the breaker opens; its probes last PROBE_SECONDS; back
    after the first probe."""

    partner = PARTNER

    def __init__(self) -> None:
        self.failures_left = 2
        self.probes = 0
        self.received: list[tuple[str, int]] = []

    def groups(self, messages: Sequence[EgressMessage]) -> list[list[EgressMessage]]:
        return [[message] for message in messages]

    def deliver(self, group: Sequence[EgressMessage]) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise PartnerUnavailable("http_503")
        self.received += [(message.dossier, message.payload["step"]) for message in group]

    def probe(self) -> None:
        self.probes += 1
        time.sleep(PROBE_SECONDS)

    def close(self) -> None:
        """Nothing to release."""


PROBE_SECONDS = 0.3


def test_the_runner_waits_for_the_probes_answer_without_spinning(transport: Transport) -> None:
    sent = [egress(f"D{d}", 0) for d in range(DOSSIERS)]
    transport.publish_confirmed(sent)
    partner = DownThenBack()
    channels: list[CountedWaits] = []

    def connect() -> Channel:
        channels.append(CountedWaits(transport.egress_channel(QUEUE, 50, PARTNER)))
        return channels[-1]  # type: ignore[return-value]

    policy = DeliveryPolicy(
        concurrency=1,
        rate_per_second=None,
        breaker_failures=2,
        breaker_cooldown_seconds=0.05,
        retry_base_seconds=0.01,
        retry_max_seconds=0.01,
    )
    Runner(partner, connect, policy, lambda _entries: None).run(threading.Event(), until_empty=True)

    assert partner.probes == 1
    assert sorted(partner.received) == sorted((f"D{d}", 0) for d in range(DOSSIERS))
    # While the probe is out (half-open) a call's end wakes the runner: a spinning loop waited 0 s
    # thousands of times over the probe's 0.3 s, and held the interpreter the probe needed.
    assert sum(channel.zero_waits for channel in channels) < 20
