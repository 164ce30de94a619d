"""``hub deliver PARTNER --once`` wired end to end on RabbitMQ: settings, the partner's adapter from
``connectors.<partner>.http`` (a fake module here), the store for the audit, the runner."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub import app
from hub.bus.topology import egress_queue
from hub.bus.transport import Transport
from hub.cli import main
from hub.settings import Settings
from tests.integration.test_delivery_runner_rabbitmq import FakeAdapter, Rig, body


def test_hub_deliver_once_empties_the_egress_through_the_adapter(
    broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = Transport(broker_url)
    transport.apply_topology(app.topology())
    adapter = FakeAdapter("portal")
    module = types.ModuleType("connectors.portal.http")
    module.build_adapter = lambda settings: adapter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connectors.portal.http", module)
    database = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    rig = Rig(broker_url, "portal", app.open_store(database, Settings()))
    ids = rig.publish(*(("D1", "DongBoHoSoMC", body("D1", n)) for n in range(3)))
    settings = json.dumps({"default": {"rate_per_second": None}, "portal": {"prefetch": 2}})
    env = {"HUB_BROKER_URL": broker_url, "HUB_DATABASE_URL": database, "HUB_DELIVERY": settings}
    result = CliRunner().invoke(main, ["deliver", "portal", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert adapter.accepted == {"D1": ids}
    assert transport.depth(egress_queue("portal")) == 0
    assert adapter.closed
