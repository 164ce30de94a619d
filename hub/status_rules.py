"""When ``hub status`` says something needs attention, in plain words, with what to do.

Each rule reads the figures alone (``hub.status.Status``), so it can be tested with figures given
directly. Every line points at the runbook's "hub status" section, which says more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hub.bus.management import QueueFigures
from hub.bus.topology import (
    WORKERS_QUEUE,
    dead_letter_queue,
    egress_dead_letter_queue,
    egress_queue,
    ingress_queue,
    park_queue,
)
from hub.status import CheckpointFigures, PartnerFigures, Status

RUNBOOK = 'docs/runbook.md, "hub status"'
DEFAULT_BACKLOG = 1000
DEFAULT_PARKED = 100
DEFAULT_DEAD_LETTERS = 0
CHECKPOINT_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class Thresholds:
    """Above these, a figure needs attention (``hub status`` options)."""

    backlog: int = DEFAULT_BACKLOG  # messages in an ingress, egress or partition queue
    parked: int = DEFAULT_PARKED  # messages in a partner's park
    dead_letters: int = DEFAULT_DEAD_LETTERS  # messages in a partner's dead-letter queue, each of the two
    checkpoint_lag_seconds: float = 2 * 60.0 + CHECKPOINT_MARGIN_SECONDS


def checkpoint_lag_default(audit_checkpoint_seconds: float) -> float:
    """Twice the signing interval and a margin: a worker signs every interval while it records."""
    return 2 * audit_checkpoint_seconds + CHECKPOINT_MARGIN_SECONDS


@dataclass(frozen=True)
class Attention:
    subject: str  # the queue, or "audit checkpoints"
    problem: str
    action: str

    def line(self) -> str:
        return f"{self.subject}: {self.problem}; {self.action} ({RUNBOOK})"


def judge(status: Status, thresholds: Thresholds) -> list[Attention]:
    """Everything in ``status`` that needs a person; empty when all is well."""
    found = [*_missing_queues(status), *_workers(status.workers)]
    for partner in status.partners:
        found.extend(_partner(partner, thresholds))
    for name, partition in status.partitions:
        found.extend(_partition(name, partition, thresholds))
    found.extend(_checkpoint(status.checkpoint, thresholds))
    return found


def _missing_queues(status: Status) -> Iterator[Attention]:
    """One line for every queue the hub needs and the broker lacks (the vhost, or the apply, is wrong)."""
    expected: list[tuple[str, QueueFigures | None]] = [(WORKERS_QUEUE, status.workers)]
    for p in status.partners:
        expected += [
            (ingress_queue(p.partner), p.ingress),
            (egress_queue(p.partner), p.egress),
            (dead_letter_queue(p.partner), p.dead),
            (park_queue(p.partner), p.park),
            (egress_dead_letter_queue(p.partner), p.egress_dead),
        ]
    missing = [name for name, queue in [*expected, *status.partitions] if queue is None]
    if missing:
        yield Attention(
            f"vhost {status.vhost!r}",
            f"{len(missing)} queues of the hub do not exist ({', '.join(missing)})",
            "run `hub topology apply`, or check the vhost in HUB_BROKER_URL",
        )


def _workers(workers: QueueFigures | None) -> Iterator[Attention]:
    if workers is not None and workers.consumers == 0:
        yield Attention(WORKERS_QUEUE, "no `hub run` worker is connected", "start the workers")


def _partner(figures: PartnerFigures, limits: Thresholds) -> Iterator[Attention]:
    ingress, egress, dead, park = figures.ingress, figures.egress, figures.dead, figures.park
    if ingress is not None:
        if ingress.depth and not ingress.consumers:
            yield Attention(
                ingress.name, f"{ingress.depth} messages wait and no worker routes them", "start `hub run`"
            )
        if ingress.depth > limits.backlog:
            yield _backlog(ingress, limits, "the workers do not keep up: check they run and are not paused")
    if egress is not None:
        if egress.depth and not egress.consumers:
            yield Attention(
                egress.name,
                f"{egress.depth} messages wait and nobody reads them",
                f"tell partner {figures.partner} to read its queue (served by `hub deliver "
                f"{figures.partner}`: is it running, is its breaker open?)",
            )
        if egress.depth > limits.backlog:
            yield _backlog(egress, limits, f"partner {figures.partner} does not keep up reading it")
    if dead is not None and dead.depth > limits.dead_letters:
        yield Attention(
            dead.name,
            f"{dead.depth} dead letters wait",
            f"`hub dead-letters show {figures.partner}`, fix the cause, then replay",
        )
    yield from _egress_dead_letters(figures, limits)
    if park is not None and park.depth > limits.parked:
        yield Attention(
            park.name,
            f"{park.depth} messages are parked (more than {limits.parked})",
            f"`hub parked show {figures.partner}`: steps whose dossier or earlier steps did not come",
        )


def _egress_dead_letters(figures: PartnerFigures, limits: Thresholds) -> Iterator[Attention]:
    dead = figures.egress_dead
    if dead is not None and dead.depth > limits.dead_letters:
        yield Attention(
            dead.name,
            f"{dead.depth} egress dead letters wait (refused by the partner's service)",
            f"`hub dead-letters show {figures.partner} --egress`, fix the cause, then replay with --egress",
        )


def _backlog(queue: QueueFigures, limits: Thresholds, why: str) -> Attention:
    return Attention(queue.name, f"{queue.depth} messages wait (more than {limits.backlog})", why)


def _partition(name: str, queue: QueueFigures | None, limits: Thresholds) -> Iterator[Attention]:
    if queue is None:
        return
    if queue.depth and not queue.consumers:
        yield Attention(name, f"{queue.depth} messages wait and no worker consumes them", "start `hub run`")
    if queue.depth > limits.backlog:
        yield _backlog(queue, limits, "the workers do not keep up: check they run and are not paused")


def _checkpoint(figures: CheckpointFigures, limits: Thresholds) -> Iterator[Attention]:
    subject = "audit checkpoints"
    if figures.head_seq > 0 and figures.checkpoint_seq is None:
        yield Attention(
            subject,
            f"{figures.head_seq} audit entries and no signed checkpoint",
            "run `hub audit checkpoint` and check the hub's log",
        )
        return
    lag = figures.lag_seconds()
    if lag is not None and lag > limits.checkpoint_lag_seconds:
        yield Attention(
            subject,
            f"entries went on being recorded for {lag:.0f} s after the last signed checkpoint "
            f"(more than {limits.checkpoint_lag_seconds:.0f} s)",
            "check the workers' log and HUB_AUDIT_CHECKPOINT_SECONDS; `hub audit checkpoint` signs now",
        )
