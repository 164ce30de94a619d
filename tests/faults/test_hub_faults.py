"""The hub's own processes fail under a steady load (reliability.md 1 and the partitioned workers):
nothing lost, nothing applied twice, no lawful step refused, the surviving hubs still running."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scenario import FaultRun
from tests.faults.services import close_connections

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]


def assert_sound(run: FaultRun) -> None:
    """The checker's verdicts, then every hub the test did not kill stops cleanly on SIGTERM."""
    figures = run.finish()
    assert not figures.problems(), f"{figures.line()}\nnot drained: {run.left}"
    codes = run.hubs.stop()
    assert all(code == 0 for code in codes.values()), f"exit codes after SIGTERM: {codes}"


def test_a_worker_sigkilled_three_times_and_restarted_loses_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with FaultRun("worker SIGKILL x3, restarted", broker_url, postgres_url, tmp_path) as run:
        for fraction in (0.25, 0.5, 0.75):
            run.reach(fraction)
            with run.fault():
                run.hubs.kill(run.hubs.kept()[0])
                run.hubs.start()
        assert_sound(run)


@pytest.mark.parametrize("workers", [2, 4])
def test_one_of_several_workers_sigkilled_mid_stream_loses_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path, workers: int
) -> None:
    scenario = f"{workers} workers, one SIGKILLed"
    with FaultRun(scenario, broker_url, postgres_url, tmp_path, workers=workers) as run:
        run.reach(0.4)
        with run.fault():
            run.hubs.kill(run.hubs.kept()[0])  # the first started: the likeliest router of the ingress
        assert_sound(run)


def test_the_brokers_connections_closed_twice_lose_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with FaultRun("connections closed x2", broker_url, postgres_url, tmp_path, workers=2) as run:
        for fraction in (0.3, 0.6):
            run.reach(fraction)
            with run.fault():
                close_connections(run.vhost)
        assert_sound(run)
