"""The demo's scenario: what the fake partners publish during a day at the sample province."""

from __future__ import annotations

import random
from dataclasses import dataclass

from connectors.portal.fake import FakePortal
from hub.envelope import Outbound

SAMPLE_UNITS = ("000.00.30.H30", "000.00.31.H30", "000.00.41.H30")


@dataclass(frozen=True)
class Scenario:
    messages: tuple[Outbound, ...]


def online_filings(count: int, max_body_bytes: int, seed: int = 45) -> Scenario:
    """``count`` online filings across the sample units (a third by post, some collected by the
    post), with one bad message of each kind interleaved."""
    portal = FakePortal(seed=seed)
    chooser = random.Random(seed)
    messages: list[Outbound] = []
    for _ in range(count):
        by_post = chooser.random() < 0.35
        body = portal.dossier_submitted(
            chooser.choice(SAMPLE_UNITS), by_post=by_post, collect=by_post and chooser.random() < 0.5
        )
        messages.append(portal.message("dossier.submitted", body))
    for _, bad in portal.bad_messages(SAMPLE_UNITS[0], max_body_bytes):
        messages.insert(chooser.randrange(len(messages) + 1), bad)
    return Scenario(tuple(messages))
