"""The idempotency keys the gateway accepted (table ``gateway_requests``), with the body's sha256.

A key is recorded only after the broker confirmed its message, so a key on record always means "this
body was published". Keys older than the retention are forgotten by ``forget_older``, run by the
gateway's housekeeping, so the table does not grow without bound.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from hub.store.database import StoreUnavailable
from hub.store.partner_state import gateway_requests

T = gateway_requests.c


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as error:  # the driver's text holds no request data: only keys and digests
        raise StoreUnavailable(f"the store failed: {type(error.orig).__name__}") from None


class IdempotencyKeys:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # SQLite takes one writer at a time and makes the others sleep in its busy handler, for up to
        # hundreds of milliseconds under load: the gateway's threads queue here instead.
        self._writing = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    def digest_of(self, partner: str, key: str) -> str | None:
        """The body digest recorded under ``key``, None when the key is new."""
        query = select(T.body_sha256).where(T.partner == partner, T.idempotency_key == key)
        with _store_errors(), self._engine.connect() as connection:
            return connection.execute(query).scalar_one_or_none()

    def record(self, partner: str, key: str, kind: str, digest: str) -> str:
        """Record ``key``; the digest on record afterwards (another one when a concurrent request with
        the same key won the race)."""
        row = {
            "partner": partner,
            "idempotency_key": key,
            "kind": kind,
            "body_sha256": digest,
            "accepted_at": datetime.now(UTC),
        }
        try:
            with self._writing, _store_errors(), self._engine.begin() as connection:
                connection.execute(insert(gateway_requests).values(row))
        except IntegrityError:
            return self.digest_of(partner, key) or digest
        return digest

    def forget_older(self, retention: timedelta) -> int:
        """Forget keys accepted longer than ``retention`` ago; how many."""
        cutoff = datetime.now(UTC) - retention
        with self._writing, _store_errors(), self._engine.begin() as connection:
            return connection.execute(delete(gateway_requests).where(T.accepted_at < cutoff)).rowcount
