"""Fixtures of the integration tests: a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

SERVER = "postgresql://127.0.0.1:5432/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped after the test (over a new connection: the
    test may have restarted the server)."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 under CI=true")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    try:
        yield f"postgresql://127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
