"""How a worker decides which partitions to claim, hold and hand over (hub.bus.claims)."""

from __future__ import annotations

from hub.bus.claims import Claims

PARTITIONS = [f"hub.partition.{n}" for n in range(8)]


def free(*taken: str) -> dict[str, int]:
    return {q: (1 if q in taken else 0) for q in PARTITIONS}


def test_a_lone_worker_claims_every_free_partition_and_probes_what_it_claimed() -> None:
    claims = Claims(PARTITIONS)
    plan = claims.plan(1, free())
    assert sorted(plan.claim) == PARTITIONS
    claims.claimed.update(plan.claim)
    assert sorted(claims.plan(1, free(*PARTITIONS)).probe) == PARTITIONS


def test_a_worker_claims_only_up_to_its_share_and_never_a_consumed_partition() -> None:
    claims = Claims(PARTITIONS)
    plan = claims.plan(2, free(*PARTITIONS[:3]))
    assert len(plan.claim) == 4
    assert not set(plan.claim) & set(PARTITIONS[:3])


def test_a_claim_that_only_waits_behind_another_worker_does_not_count_as_held() -> None:
    claims = Claims(PARTITIONS)
    claims.claimed.update(PARTITIONS[:4])
    for queue in PARTITIONS[:3]:
        claims.probe_came_back(queue, claims.me)
    claims.probe_came_back(PARTITIONS[3], "another worker")  # the other is active there: we wait
    plan = claims.plan(2, free(*PARTITIONS[:4]))
    assert len(plan.claim) == 1  # one more, so that no partition is left without a consumer
    assert plan.probe == (PARTITIONS[3],)


def test_a_worker_over_its_share_hands_the_surplus_over() -> None:
    claims = Claims(PARTITIONS)
    claims.claimed.update(PARTITIONS)
    for queue in PARTITIONS:
        claims.probe_came_back(queue, claims.me)
    plan = claims.plan(4, free(*PARTITIONS))
    assert len(plan.release) == 6
    assert plan.claim == ()
    for queue in plan.release:
        claims.released(queue)
    assert len(claims.held) == 2
    assert claims.plan(4, free(*PARTITIONS)).release == ()  # at its share: nothing more to give
