"""HUB_MANAGEMENT_URL: read, or derived from the broker URL; its password never printed. And the
one-line errors and exit codes of `hub status` when it cannot look."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pydantic import SecretStr

import connectors
from hub import app, cli_status
from hub.bus.management import ManagementAddress, ManagementUrlError, QueueFigures, parse_management_url
from hub.bus.topology import (
    WORKERS_QUEUE,
    dead_letter_queue,
    egress_dead_letter_queue,
    egress_queue,
    ingress_queue,
    park_queue,
    partition_queue,
)
from hub.cli import main
from hub.errors import ConfigError
from hub.exits import Exit
from hub.outcomes import Disposition, LedgerRecord
from hub.settings import Settings, load_settings
from hub.status import StoreNotReadable, read_store

PASSWORD = "s3cret-pw"


@pytest.mark.parametrize(
    ("url", "base", "user"),
    [
        ("http://ops:pw@rabbit:15672", "http://rabbit:15672", "ops"),
        ("http://ops:pw@rabbit:15672/", "http://rabbit:15672", "ops"),
        ("http://ops:pw@rabbit:15672/api/", "http://rabbit:15672", "ops"),  # the API's own URL
        ("HTTPS://ops:pw@proxy/rabbitmq", "https://proxy/rabbitmq", "ops"),  # a path prefix
        ("http://o%40x:p%3Aw@[::1]:15672", "http://[::1]:15672", "o@x"),
    ],
)
def test_a_management_url_names_its_base_and_user(url: str, base: str, user: str) -> None:
    address = parse_management_url(url)
    assert (address.base, address.user) == (base, user)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        (f"amqp://ops:{PASSWORD}@rabbit:5672", "http:// or https://"),
        ("http://rabbit:15672", "needs a user and password"),
        (f"http://ops:{PASSWORD}@rabbit:99999", "port must be a number"),
        (f"http://ops:{PASSWORD}@rabbit:15672/?x=1", "query parameters"),
    ],
)
def test_a_wrong_management_url_names_the_setting_and_rule_never_the_password(url: str, rule: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(management_url=url)
    assert "HUB_MANAGEMENT_URL" in str(raised.value)
    assert rule in str(raised.value)
    assert PASSWORD not in str(raised.value)
    with pytest.raises(ManagementUrlError):
        parse_management_url(url)


@pytest.mark.parametrize(
    ("broker", "bases"),
    [
        ("amqp://hub:pw@rabbit:5672/prod", ["http://rabbit:15672"]),
        ("amqps://hub:pw@rabbit:5671/prod", ["https://rabbit:15671"]),
        ("amqp://hub:pw@a:5672,b:5673,[::1]/x", ["http://a:15672", "http://b:15672", "http://[::1]:15672"]),
    ],
)
def test_unset_it_is_derived_from_each_broker_host_with_the_broker_user(
    broker: str, bases: list[str]
) -> None:
    addresses = Settings(broker_url=SecretStr(broker)).management_addresses()
    assert [a.base for a in addresses] == bases
    assert {(a.user, a.password, a.derived) for a in addresses} == {("hub", "pw", True)}


def test_when_set_it_wins_over_the_broker_url() -> None:
    settings = Settings(
        broker_url=SecretStr("amqp://hub:pw@rabbit/prod"), management_url=SecretStr("http://ops:x@mgmt:8080")
    )
    assert settings.management_addresses() == (ManagementAddress("http://mgmt:8080", "ops", "x"),)


def test_masked_addresses_hide_the_password_and_say_where_they_came_from() -> None:
    derived = Settings(broker_url=SecretStr(f"amqp://hub:{PASSWORD}@rabbit/x")).management_addresses()[0]
    assert derived.masked() == "http://hub:****@rabbit:15672, derived from HUB_BROKER_URL"
    assert PASSWORD not in repr(derived)


def test_config_show_masks_the_management_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MANAGEMENT_URL", f"http://ops:{PASSWORD}@mgmt:15672")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


# -- hub status when it cannot look -------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path, settings: Settings) -> str:
    """A SQLite store the hub has opened (its tables exist)."""
    url = f"sqlite:///{tmp_path / 'status.sqlite3'}"
    app.open_store(url, settings).engine.dispose()
    return url


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: nothing listens


def status(env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["status"], env={"HUB_BROKER_URL": None, **env})


def test_without_a_broker_it_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == Exit.CONFIG
    assert "HUB_BROKER_URL" in result.output


def test_a_management_api_that_does_not_answer_is_one_line_and_exit_1(store: str) -> None:
    url = f"http://ops:{PASSWORD}@127.0.0.1:{closed_port()}"
    result = status({"HUB_MANAGEMENT_URL": url, "HUB_DATABASE_URL": store})
    assert result.exit_code == Exit.FAILURE
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: HUB_MANAGEMENT_URL: the management API does not answer")
    assert "ops:****@127.0.0.1" in result.stderr
    assert PASSWORD not in result.output


def test_a_missing_sqlite_file_is_a_store_refusal_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "absent.sqlite3"
    with pytest.raises(StoreNotReadable, match=r"HUB_DATABASE_URL .*: the SQLite file does not exist"):
        read_store(f"sqlite:///{missing}", datetime.now(UTC))
    assert StoreNotReadable.exit_code == Exit.STORE_REFUSED
    assert not missing.exists()


# -- what the store says ----------------------------------------------------------------------------


def dead_letter(reason: str, at: datetime, partner: str = "portal") -> LedgerRecord:
    return LedgerRecord(partner, "m", "k", None, Disposition.DEAD_LETTERED, reason, None, 0, "0" * 64, at)


def test_dead_letters_are_counted_by_partner_and_reason_within_the_window(
    store: str, settings: Settings
) -> None:
    now = datetime.now(UTC)
    ledger = app.open_store(store, settings)
    forwarded = LedgerRecord("portal", "f", "k", None, Disposition.FORWARDED, None, None, 1, "0" * 64, now)
    ledger.record(
        [
            dead_letter("validation_failed", now - timedelta(minutes=5)),
            dead_letter("validation_failed", now - timedelta(hours=23)),
            dead_letter("malformed_json", now),
            dead_letter("unknown_agency", now, partner="onestop"),
            dead_letter("malformed_json", now - timedelta(hours=25)),  # before the window
            forwarded,
        ]
    )
    ledger.engine.dispose()
    by_reason, audit = read_store(store, now - timedelta(hours=24))
    assert by_reason == {
        "portal": {"validation_failed": 2, "malformed_json": 1},
        "onestop": {"unknown_agency": 1},
    }
    assert (audit.head_seq, audit.checkpoint_seq, audit.lag_seconds()) == (0, None, None)


# -- what hub status reads, with a fake of the management API ---------------------------------------


class QueuesOfAHealthyHub:
    """The management API's answer for a hub whose queues are all there and read; ``dead_egress``
    messages wait in hub.dead.egress.postal."""

    def __init__(self, dead_egress: int) -> None:
        self.dead_egress = dead_egress

    def queues(self, vhost: str) -> dict[str, QueueFigures]:
        names = [WORKERS_QUEUE, *(partition_queue(n) for n in range(Settings().partitions))]
        for partner in connectors.partners():
            names += [ingress_queue(partner), egress_queue(partner), dead_letter_queue(partner)]
            names += [park_queue(partner), egress_dead_letter_queue(partner)]
        found = {name: QueueFigures(name, ready=0, unacknowledged=0, consumers=1) for name in names}
        dead = egress_dead_letter_queue("postal")
        found[dead] = QueueFigures(dead, ready=self.dead_egress, unacknowledged=0, consumers=0)
        return found


def status_with(dead_egress: int, store: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setattr(cli_status, "ManagementApi", lambda addresses: QueuesOfAHealthyHub(dead_egress))
    env = {"HUB_BROKER_URL": "amqp://ops:pw@127.0.0.1:5672/", "HUB_DATABASE_URL": store}
    return CliRunner().invoke(main, ["status", *args], env=env)


def test_egress_dead_letters_are_reported_and_exit_8(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = status_with(3, store, monkeypatch, "--json")
    figures = json.loads(result.stdout)
    assert result.exit_code == Exit.ATTENTION
    assert figures["partners"]["postal"]["egress_dead_letters"]["depth"] == 3
    assert figures["partners"]["portal"]["egress_dead_letters"]["depth"] == 0
    (attention,) = figures["attention"]
    assert attention["subject"] == "hub.dead.egress.postal"
    assert "--egress" in attention["action"]


def test_no_egress_dead_letters_is_all_well(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = status_with(0, store, monkeypatch)
    assert result.exit_code == Exit.OK, result.output
    assert "egress dead letters" in result.stdout
    assert "all well" in result.stdout
