"""Fixtures of the fault runs: a RabbitMQ vhost (tests/conftest.py) and a PostgreSQL database per run."""

from __future__ import annotations

from tests.integration.conftest import postgres_url

__all__ = ["postgres_url"]
