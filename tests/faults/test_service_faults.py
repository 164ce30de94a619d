"""PostgreSQL and RabbitMQ fail under a steady load (reliability.md 5, 6, 11, 12): the hub pauses,
resumes by itself, loses nothing, and nothing reaches the broker's delivery limit.

These stop and restart the local servers for every client, not only the run's vhost and database.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.bus.topology import DELIVERY_LIMIT
from tests.faults.hubs import BACKOFF_CAP_SECONDS
from tests.faults.scenario import FaultRun
from tests.faults.services import postgresql_stopped, restart_postgresql, restart_rabbitmq
from tests.faults.test_hub_faults import assert_sound

pytestmark = [pytest.mark.faults, pytest.mark.timeout(360)]

# Longer than a message could survive if each failed try redelivered it: the broker would give up on
# it after DELIVERY_LIMIT deliveries, one per backoff at most.
STORE_OUTAGE_SECONDS = DELIVERY_LIMIT * BACKOFF_CAP_SECONDS + 5


def test_postgresql_restarted_under_load_loses_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with FaultRun("PostgreSQL restarted", broker_url, postgres_url, tmp_path) as run:
        run.reach(0.4)
        with run.fault():
            restart_postgresql()
        assert_sound(run)


def test_postgresql_down_past_the_delivery_limit_loses_nothing_and_dead_letters_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with FaultRun(f"PostgreSQL down {STORE_OUTAGE_SECONDS:.0f}s", broker_url, postgres_url, tmp_path) as run:
        run.reach(0.3)
        with run.fault(), postgresql_stopped():
            time.sleep(STORE_OUTAGE_SECONDS)  # the outage itself: there is nothing to wait for
        assert_sound(run)


def test_rabbitmq_restarted_under_load_loses_nothing(
    broker_url: str, postgres_url: str, tmp_path: Path
) -> None:
    with FaultRun("RabbitMQ stop_app/start_app", broker_url, postgres_url, tmp_path) as run:
        run.reach(0.4)
        with run.fault():
            restart_rabbitmq()
        assert_sound(run)
