"""Shared fixtures: settings, the embedded broker, and a RabbitMQ vhost per integration test.

Integration tests skip when no RabbitMQ answers locally, and fail under CI=true, where the broker
must be there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.portal.fake import FakePortal
from hub.bus import memory
from hub.settings import AgencySettings, Settings
from tests import rabbit

LEGACY_UNIT = "000.00.31.H30"
CURRENT_UNIT = "H13.41"
PROVINCE_UNIT = "000.00.30.H30"


def sample_agencies() -> list[AgencySettings]:
    counter = {
        "address": "Số 1 đường Trần Hưng Đạo",
        "province": "Thành phố Cần Thơ",
        "commune": "Phường Vị Thanh",
    }
    return [
        AgencySettings.model_validate(
            {"code": PROVINCE_UNIT, "name": "centre (sample)", "phone": "0293387001", **counter}
        ),
        AgencySettings(code=LEGACY_UNIT, name="old district (sample)", successor=CURRENT_UNIT),
        AgencySettings.model_validate(
            {
                "code": CURRENT_UNIT,
                "name": "ward (sample)",
                "level": "commune",
                "phone": "0293387002",
                **counter,
            }
        ),
    ]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'hub.sqlite3'}"),
        agencies=sample_agencies(),
        retry_backoff_seconds=0.05,
        shutdown_grace_seconds=5,
        default_ingress_users=[rabbit.USER],  # the tests' fakes publish as guest
    )


@pytest.fixture
def embedded() -> Iterator[str]:
    """The name of a fresh embedded broker, dropped after the test."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    memory.forget_broker(name)


@pytest.fixture
def portal() -> FakePortal:
    return FakePortal(seed=7)


@pytest.fixture
def broker_url() -> Iterator[str]:
    """An AMQP URL to a fresh vhost on the local RabbitMQ, deleted after the test."""
    if not rabbit.reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672 under CI=true")
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    name = f"hub-test-{uuid.uuid4().hex[:12]}"
    url = rabbit.create_vhost(name)
    yield url
    rabbit.delete_vhost(name)
