"""Fail-closed: PostgreSQL restarted while the hub is busy. Nothing is acknowledged without its ledger
row and audit entries, consumption resumes by itself, and nothing is lost."""

from __future__ import annotations

import threading

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from connectors.portal.fake import FakePortal
from hub import app
from hub.audit.chain import audit_log
from hub.bus.topology import egress_queue
from hub.settings import Settings
from tests.faults.services import restart_postgresql
from tests.helpers import filings, running

INPUTS = 600
RESTART_AFTER = 150
OUTAGE_WAIT = 90.0  # a restart takes a few seconds; the hub's store backoff is capped at 1 s here

pytestmark = pytest.mark.faults  # it restarts the shared PostgreSQL: with the fault runs, one at a time


def test_a_postgresql_restart_under_load_loses_nothing_and_acks_nothing_unrecorded(
    postgres_url: str, settings: Settings, embedded: str, portal: FakePortal
) -> None:
    on_postgres = settings.model_copy(
        update={"database_url": SecretStr(postgres_url), "retry_backoff_max_seconds": 1.0}
    )
    hub = app.build(on_postgres, embedded=embedded)
    messages = filings(portal, INPUTS)
    with running(hub) as run:
        publisher = threading.Thread(target=hub.transport.publish_confirmed, args=(messages,))
        publisher.start()
        assert run.worker.wait_settled(RESTART_AFTER, OUTAGE_WAIT)
        restart_postgresql()
        publisher.join(OUTAGE_WAIT)
        assert run.worker.wait_settled(INPUTS, OUTAGE_WAIT), f"settled {run.worker.settled} of {INPUTS}"
        settled = run.worker.settled
    assert settled == INPUTS  # each input acknowledged once
    assert hub.ledger.count() == INPUTS  # ... and each with its ledger row
    with hub.ledger.engine.connect() as connection:
        inputs = connection.execute(select(func.count()).where(audit_log.c.entry == "in")).scalar_one()
        seqs = connection.execute(select(func.min(audit_log.c.seq), func.max(audit_log.c.seq), func.count()))
        low, high, rows = seqs.one()
    assert inputs == INPUTS  # ... and its audit entry
    assert (low, high) == (1, rows)  # the chain has no gap: failed batches left nothing behind
    delivered = hub.transport.take(egress_queue("onestop"), limit=10 * INPUTS, partner="onestop")
    # An output confirmed before a failed commit is published again on redelivery, with the same id.
    assert len({d.properties.message_id for d in delivered}) == INPUTS
