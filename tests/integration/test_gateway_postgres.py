"""The gateway's idempotency keys on PostgreSQL: the store decides a race between two bodies."""

from __future__ import annotations

from datetime import timedelta

from hub.gateway.idempotency import IdempotencyKeys
from hub.store.database import make_engine
from hub.store.migrate import upgrade


def test_the_first_body_recorded_under_a_key_wins(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    keys = IdempotencyKeys(engine)
    assert keys.record("portal", "k", "dossier.submitted", "a" * 64) == "a" * 64
    assert keys.record("portal", "k", "dossier.submitted", "b" * 64) == "a" * 64  # the loser learns it lost
    assert keys.record("onestop", "k", "dossier.status", "b" * 64) == "b" * 64  # keys are per partner
    assert keys.forget_older(timedelta(0)) == 2
    engine.dispose()
