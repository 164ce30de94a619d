"""The broker's users and permissions as data, the accepted users' defaults, and the guest warnings
(the same rights tried on RabbitMQ: tests/integration/test_permissions_rabbitmq.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

import connectors
from hub import app, broker_access
from hub.bus.permissions import Roles, access, password_hash
from hub.bus.topology import build_topology
from hub.cli import main
from hub.errors import ConfigError
from hub.settings import Settings

PARTNERS = tuple(connectors.partners())
SALT = b"\x01\x02\x03\x04"


def permission(definitions: dict[str, object], user: str) -> dict[str, str]:
    listed = definitions["permissions"]
    assert isinstance(listed, list)
    [found] = [p for p in listed if p["user"] == user]
    return dict(found)


def granted(pattern: str, names: set[str]) -> set[str]:
    return {name for name in names if pattern and re.search(pattern, name)}


def test_the_password_hash_is_rabbitmq_sha256_salted() -> None:
    hashed = base64.b64decode(password_hash("s3cret", SALT))
    assert hashed == SALT + hashlib.sha256(SALT + b"s3cret").digest()
    assert password_hash("s3cret") != password_hash("s3cret")  # a fresh salt each time


def test_a_partner_not_listed_accepts_only_the_user_named_like_it() -> None:
    settings = Settings()
    assert settings.accepted_users("portal") == ["portal"]
    assert settings.replay_users == ["hub-operator"]
    listed = Settings(ingress_users={"portal": ["portal-prod"]}, default_ingress_users=["guest"])
    assert listed.accepted_users("portal") == ["portal-prod"]
    assert listed.accepted_users("postal") == ["postal", "guest"]


def test_each_role_gets_exactly_its_entities() -> None:
    """Read against every name of the topology (16 partitions, to show the pattern follows them)."""
    topology = build_topology(PARTNERS, partitions=16)
    names = {e.name for e in topology.exchanges} | {q.name for q in topology.queues}
    found = broker_access.definitions(Settings(), topology, PARTNERS, "/")
    for partner in PARTNERS:
        mine = permission(found, partner)
        assert mine["configure"] == ""
        assert granted(mine["write"], names) == {f"ingress.{partner}"}
        assert granted(mine["read"], names) == {f"egress.{partner}"}
    hub = permission(found, "hub")
    assert hub["configure"] == ""
    assert granted(hub["write"], names) == {"hub.partitions", "hub.events"} | {
        f"{prefix}.{p}" for p in PARTNERS for prefix in ("egress", "hub.dead", "hub.park", "hub.dead.egress")
    }
    assert granted(hub["read"], names) == {"hub.workers"} | {f"hub.partition.{n}" for n in range(16)} | {
        f"{prefix}.{p}"
        for p in PARTNERS
        for prefix in ("hub.ingress", "egress")  # egress: `hub deliver`
    }
    operator = permission(found, "hub-operator")
    for right in ("configure", "write", "read"):
        assert granted(operator[right], names) == names
        assert granted(operator[right], {"amq.default", "xhub.events", "hub.events.logs"}) == set()
    assert {(t["user"], t["exchange"], t["read"]) for t in found["topic_permissions"]} == {
        (p, f"egress.{p}", "") for p in PARTNERS
    }


def test_without_passwords_the_users_are_placeholders_and_guest_is_never_written() -> None:
    settings = Settings(default_ingress_users=["guest"])
    found = broker_access.definitions(settings, app.topology(), PARTNERS, "/")
    assert {u["name"] for u in found["users"]} == {*PARTNERS, "hub", "hub-operator"}
    assert {u["password_hash"] for u in found["users"]} == {""}
    assert "change_password" in found["hub_note"]
    assert [u["tags"] for u in found["users"] if u["name"] == "hub-operator"] == [["monitoring"]]
    # No administrator, and no impersonator (which RabbitMQ would let publish any user_id).
    assert {tag for u in found["users"] for tag in u["tags"]} == {"monitoring"}


def test_configured_passwords_are_hashed_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    passwords = {user: f"pw-{user}-Xy9" for user in (*PARTNERS, "hub", "hub-operator")}
    monkeypatch.setenv("HUB_BROKER_PASSWORDS", json.dumps(passwords))
    result = CliRunner().invoke(main, ["topology", "show", "--definitions"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert "hub_note" not in found
    for user in found["users"]:
        raw = base64.b64decode(user["password_hash"])
        assert raw[4:] == hashlib.sha256(raw[:4] + passwords[user["name"]].encode()).digest()
    assert not any(password in result.output for password in passwords.values())
    shown = CliRunner().invoke(main, ["config", "show"]).output
    assert not any(password in shown for password in passwords.values())


def test_the_vhost_is_the_option_else_the_broker_urls_else_the_default() -> None:
    assert broker_access.definitions_vhost(Settings(), None) == "/"
    on_url = Settings(broker_url=SecretStr("amqp://hub:pw@rabbit:5672/province"))
    assert broker_access.definitions_vhost(on_url, None) == "province"
    assert broker_access.definitions_vhost(on_url, "other") == "other"
    found = json.loads(
        CliRunner().invoke(main, ["topology", "show", "--definitions", "--vhost", "hg"]).output
    )
    assert found["vhosts"] == [{"name": "hg"}]
    every = [*found["permissions"], *found["topic_permissions"], *found["queues"], *found["exchanges"]]
    assert {item["vhost"] for item in every} == {"hg"}


def test_a_user_with_two_roles_is_refused() -> None:
    roles = Roles(partners={"portal": ("hub",)}, hub="hub", operators=(), passwords={})
    with pytest.raises(ConfigError, match="'hub' is both partner and hub"):
        access(roles)


def test_a_user_speaking_for_two_partners_gets_both() -> None:
    roles = Roles(
        partners={"portal": ("shared",), "postal": ("shared",)}, hub="hub", operators=(), passwords={}
    )
    [shared] = [p for p in access(roles).permissions if p.user == "shared"]
    assert shared.write == r"^ingress\.(portal|postal)$"


def test_guest_warnings() -> None:
    assert broker_access.guest_warnings(Settings(), PARTNERS) == []
    [accepted] = broker_access.guest_warnings(Settings(default_ingress_users=["guest"]), PARTNERS)
    assert "'guest' is accepted on ingress portal, onestop, postal" in accepted
    listed = Settings(ingress_users={"postal": ["guest"]}, replay_users=["guest"])
    assert [w.split(" (")[0] for w in broker_access.guest_warnings(listed, PARTNERS)] == [
        "broker user 'guest' is accepted on ingress postal",
        "broker user 'guest' may replay dead letters",
    ]
    connecting = Settings(broker_url=SecretStr("amqp://rabbit/"))  # no user named: guest
    [connects] = broker_access.guest_warnings(connecting, PARTNERS)
    assert connects.startswith("the hub connects as broker user 'guest'")


def test_hub_run_warns_at_start_when_guest_is_accepted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app, "start", lambda *_args: None)  # as if stopped before the broker answered
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.setenv("HUB_DEFAULT_INGRESS_USERS", '["guest"]')
    with caplog.at_level(logging.WARNING, logger="hub"):
        assert CliRunner().invoke(main, ["run"]).exit_code == 0
    warned = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "'guest'" in r.getMessage()
    ]
    assert len(warned) == 2
    assert "the hub connects as broker user 'guest'" in warned[1]


def test_hub_run_says_nothing_of_guest_when_it_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(app, "start", lambda *_args: None)
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://hub:pw@127.0.0.1:1/")
    with caplog.at_level(logging.WARNING, logger="hub"):
        assert CliRunner().invoke(main, ["run"]).exit_code == 0
    assert not [r for r in caplog.records if "guest" in r.getMessage()]
