"""The store's migrations on the real PostgreSQL, in a database made for each test: every test of
``tests/unit/test_migrations.py`` again, given the ``engine`` fixture below instead of SQLite's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from hub.store.database import make_engine
from tests.unit.test_migrations import *  # noqa: F403  (collected here too: new tests run on both)


@pytest.fixture(name="engine")  # in place of the SQLite one the tests were written with
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()
