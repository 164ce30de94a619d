"""Engines for the hub's store: SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hub.errors import ConfigError, StoreRefused, TransientError

DISTRIBUTION = "dossier-hub"  # pyproject.toml's name: the one to install with an extra

# What a database says, on connecting, when the URL itself is wrong. libpq reports these as text
# only (a failed connection has no SQLSTATE), in the server's language: English is matched here;
# any other failure is taken to pass, and retried.
_REFUSALS = (
    (
        re.compile(r'database "[^"]*" does not exist'),
        "the database does not exist: create it or fix the URL's path",
    ),
    (
        re.compile(
            r"password authentication failed|authentication failed|no password supplied"
            r'|role "[^"]*" does not exist|no pg_hba\.conf entry'
        ),
        "the server refused the login: wrong user or password, or pg_hba.conf does not admit it",
    ),
    (
        re.compile(r"unable to open database file"),
        "the SQLite file cannot be opened: its folder must exist and be writable by the hub",
    ),
)


class StoreUnavailable(TransientError):
    """The database cannot be read or written now; the worker waits, acknowledging nothing."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (ops commands) run beside the worker; NORMAL is durable at each WAL commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a bare ``postgresql://`` URL uses psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    sqlite = parsed.get_backend_name() == "sqlite"
    # A server's connections can die under the pool (a restart): test each before use. A SQLite file
    # has no server, and the test would double the cost of the duplicate check's one-row look-up.
    try:
        engine = create_engine(parsed, pool_pre_ping=not sqlite)
    except ImportError:  # the driver is an optional dependency (the ``postgres`` extra)
        masked = parsed.render_as_string(hide_password=True)
        raise ConfigError(
            f"HUB_DATABASE_URL ({masked}): its driver {parsed.get_driver_name()} is not installed: "
            f"pip install '{DISTRIBUTION}[postgres]'"
        ) from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def opening_failure(error: DBAPIError, engine: Engine) -> StoreRefused | StoreUnavailable:
    """A failure to open the store, in one line naming the setting: a refusal, or a database that
    does not answer (yet). On connecting, the driver's text holds no message's data."""
    said = " ".join(str(error.orig).split())
    masked = engine.url.render_as_string(hide_password=True)
    return store_refusal(error, engine) or StoreUnavailable(
        f"HUB_DATABASE_URL ({masked}): the database does not answer: {said}"
    )


def store_refusal(error: DBAPIError, engine: Engine) -> StoreRefused | None:
    """``error`` as a ``StoreRefused`` when it says the URL is wrong (no retry can help), else None."""
    said = str(error.orig)
    for pattern, rule in _REFUSALS:
        if pattern.search(said):
            return StoreRefused(engine.url.render_as_string(hide_password=True), rule, said)
    return None
