"""`hub status`'s judgement, with the figures given directly: what needs attention and what does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.bus.management import QueueFigures
from hub.status import CheckpointFigures, PartnerFigures, Status
from hub.status_rules import Attention, Thresholds, checkpoint_lag_default, judge

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(backlog=1000, parked=100, dead_letters=0, checkpoint_lag_seconds=180)


def queue(name: str, depth: int = 0, consumers: int = 1, unacked: int = 0) -> QueueFigures:
    return QueueFigures(name, ready=depth - unacked, unacknowledged=unacked, consumers=consumers)


UNSET = QueueFigures("unset", 0, 0, 0)  # a sentinel: the default queue of that role


def partner(
    name: str = "portal",
    *,
    ingress: QueueFigures | None = UNSET,
    egress: QueueFigures | None = UNSET,
    dead: QueueFigures | None = UNSET,
    park: QueueFigures | None = UNSET,
    egress_dead: QueueFigures | None = UNSET,
) -> PartnerFigures:
    """A partner whose queues are healthy, but for those given."""

    def given(figures: QueueFigures | None, default: QueueFigures) -> QueueFigures | None:
        return default if figures is UNSET else figures

    return PartnerFigures(
        partner=name,
        ingress=given(ingress, queue(f"hub.ingress.{name}")),
        egress=given(egress, queue(f"egress.{name}")),
        dead=given(dead, queue(f"hub.dead.{name}", consumers=0)),
        park=given(park, queue(f"hub.park.{name}", consumers=0)),
        dead_by_reason={},
        egress_dead=given(egress_dead, queue(f"hub.dead.egress.{name}", consumers=0)),
    )


def checkpoint(head: int = 10, seq: int | None = 10, lag: float = 0.0) -> CheckpointFigures:
    at = NOW - timedelta(hours=5)  # an idle hub: its last checkpoint may be hours old
    return CheckpointFigures(
        head_seq=head,
        newest_entry_at=None if head == 0 else at + timedelta(seconds=lag),
        checkpoint_seq=seq,
        checkpoint_at=None if seq is None else at,
    )


def healthy(**changes: object) -> Status:
    status = Status(
        taken_at=NOW,
        vhost="/",
        window=timedelta(hours=24),
        partners=(partner("portal"), partner("postal")),
        partitions=tuple((f"hub.partition.{n}", queue(f"hub.partition.{n}")) for n in range(2)),
        workers=queue("hub.workers", consumers=2),
        checkpoint=checkpoint(),
    )
    return replace(status, **changes)  # type: ignore[arg-type]


def subjects(found: list[Attention]) -> list[str]:
    return [attention.subject for attention in found]


def test_a_healthy_hub_needs_nothing() -> None:
    assert judge(healthy(), LIMITS) == []


def test_an_egress_queue_with_messages_and_no_reader_is_named() -> None:
    status = healthy(partners=(partner(egress=queue("egress.portal", depth=3, consumers=0)),))
    (found,) = judge(status, LIMITS)
    assert found.subject == "egress.portal"
    assert "3 messages wait and nobody reads them" in found.problem
    assert "portal" in found.action
    assert 'docs/runbook.md, "hub status"' in found.line()


def test_an_empty_egress_queue_without_reader_is_not_an_alarm() -> None:
    # A partner that polls reads now and then: nothing waits, nothing to say.
    status = healthy(partners=(partner(egress=queue("egress.portal", depth=0, consumers=0)),))
    assert judge(status, LIMITS) == []


@pytest.mark.parametrize("role", ["ingress", "egress"])
def test_a_backlog_over_the_threshold_is_named_and_one_at_it_is_not(role: str) -> None:
    name = "hub.ingress.portal" if role == "ingress" else "egress.portal"

    def with_depth(depth: int) -> Status:
        figures = queue(name, depth=depth, unacked=depth // 2)  # ready and unacknowledged both count
        chosen = partner(ingress=figures) if role == "ingress" else partner(egress=figures)
        return healthy(partners=(chosen,))

    at_limit, over = with_depth(1000), with_depth(1001)
    assert judge(at_limit, LIMITS) == []
    (found,) = judge(over, LIMITS)
    assert (found.subject, "1001 messages wait (more than 1000)" in found.problem) == (name, True)


def test_ingress_messages_that_no_worker_routes_are_named() -> None:
    status = healthy(partners=(partner(ingress=queue("hub.ingress.portal", depth=5, consumers=0)),))
    assert subjects(judge(status, LIMITS)) == ["hub.ingress.portal"]


def test_dead_letters_present_are_named_unless_the_threshold_allows_them() -> None:
    status = healthy(partners=(partner(dead=queue("hub.dead.portal", depth=2, consumers=0)),))
    (found,) = judge(status, LIMITS)
    assert found.subject == "hub.dead.portal"
    assert "hub dead-letters show portal" in found.action
    assert judge(status, replace(LIMITS, dead_letters=2)) == []


def test_egress_dead_letters_are_named_with_the_egress_commands_unless_the_threshold_allows_them() -> None:
    status = healthy(partners=(partner(egress_dead=queue("hub.dead.egress.portal", depth=2, consumers=0)),))
    (found,) = judge(status, LIMITS)
    assert found.subject == "hub.dead.egress.portal"
    assert "2 egress dead letters wait" in found.problem
    assert "hub dead-letters show portal --egress" in found.action
    assert judge(status, replace(LIMITS, dead_letters=2)) == []


def test_parked_messages_over_the_threshold_are_named() -> None:
    some = healthy(partners=(partner(park=queue("hub.park.portal", depth=100, consumers=0)),))
    many = healthy(partners=(partner(park=queue("hub.park.portal", depth=101, consumers=0)),))
    assert judge(some, LIMITS) == []
    assert subjects(judge(many, LIMITS)) == ["hub.park.portal"]


def test_a_partition_without_consumer_matters_only_while_messages_wait() -> None:
    idle = (("hub.partition.0", queue("hub.partition.0", consumers=0)),)
    waiting = (("hub.partition.0", queue("hub.partition.0", depth=1, consumers=0)),)
    assert judge(healthy(partitions=idle), LIMITS) == []
    (found,) = judge(healthy(partitions=waiting), LIMITS)
    assert found.subject == "hub.partition.0"
    assert "no worker consumes them" in found.problem


def test_no_worker_connected_is_named() -> None:
    assert subjects(judge(healthy(workers=queue("hub.workers", consumers=0)), LIMITS)) == ["hub.workers"]


def test_missing_queues_are_one_line_naming_each() -> None:
    status = healthy(
        partners=(partner(egress=None, park=None, egress_dead=None),),
        partitions=(("hub.partition.0", None),),
        workers=None,
    )
    (found,) = judge(status, LIMITS)
    missing = ("egress.portal", "hub.park.portal", "hub.dead.egress.portal", "hub.partition.0", "hub.workers")
    for name in missing:
        assert name in found.problem
    assert "hub topology apply" in found.action


def test_entries_recorded_long_after_the_last_checkpoint_are_named() -> None:
    lagging = healthy(checkpoint=checkpoint(head=12, seq=10, lag=181))
    (found,) = judge(lagging, LIMITS)
    assert found.subject == "audit checkpoints"
    assert "181 s after the last signed checkpoint" in found.problem


def test_an_old_checkpoint_of_an_idle_hub_is_no_lag() -> None:
    # Five hours old, but nothing was recorded since, or only within the signing interval.
    assert judge(healthy(checkpoint=checkpoint(head=10, seq=10)), LIMITS) == []
    assert judge(healthy(checkpoint=checkpoint(head=12, seq=10, lag=180)), LIMITS) == []


def test_entries_without_any_checkpoint_are_named_and_an_empty_log_is_not() -> None:
    assert subjects(judge(healthy(checkpoint=checkpoint(head=3, seq=None)), LIMITS)) == ["audit checkpoints"]
    assert judge(healthy(checkpoint=checkpoint(head=0, seq=None)), LIMITS) == []


def test_the_default_checkpoint_lag_is_two_intervals_and_a_margin() -> None:
    assert checkpoint_lag_default(60) == 180
