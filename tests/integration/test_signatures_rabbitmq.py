"""Signed messages on the real RabbitMQ: with signatures required, a message a partner signed with
``hub publish --signing-key`` flows and an unsigned one is dead-lettered ``bad_signature``; what the hub
publishes on egress carries a signature the partners' documented example accepts with the public key
``hub keys egress-public-key`` prints."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

import connectors
from connectors.portal.fake import FakePortal
from hub import app
from hub.bus.ingress import ingress_message
from hub.bus.transport import Transport
from hub.cli import main
from hub.docs import verify_example
from hub.settings import Settings
from hub.signatures import Signer, key_id_of, private_key_text, public_key_text
from tests.helpers import WAIT, running
from tests.integration.test_rabbitmq import receive
from tests.integration.test_replay_rabbitmq import NEW_UNIT, operator

__all__ = ["operator"]  # the fixture, shared with the replay tests

SAMPLE = Path(connectors.__file__).parent / "samples" / "portal.dossier.submitted.json"
PARTNER_KEY = Ed25519PrivateKey.from_private_bytes(bytes([5] * 32))
HUB_SEED = base64.b64encode(bytes([6] * 32)).decode()


def signing_hub(broker_url: str, settings: Settings) -> Settings:
    public = PARTNER_KEY.public_key()
    return settings.model_copy(
        update={
            "broker_url": SecretStr(broker_url),
            "signatures": {"portal": "required"},
            "signature_public_keys": {"portal": {key_id_of(public): public_key_text(public)}},
            "egress_signing_key": SecretStr(HUB_SEED),
        }
    )


def lines_of(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def test_a_signed_message_flows_an_unsigned_one_is_dead_lettered_and_egress_verifies(
    broker_url: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", broker_url)
    monkeypatch.setenv("HUB_EGRESS_SIGNING_KEY", HUB_SEED)
    hub_key = lines_of(CliRunner().invoke(main, ["keys", "egress-public-key"]).output)
    body = json.loads(SAMPLE.read_text(encoding="utf-8"))
    signed_file = tmp_path / "signed.json"
    signed_file.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    unsigned_body = {**body, "MaHoSo": body["MaHoSo"][:-1] + "9"}
    unsigned = ingress_message(
        "portal",
        "dossier.submitted",
        json.dumps(unsigned_body, ensure_ascii=False).encode(),
        message_id="unsigned-1",
        user_id="guest",
        timestamp=1_800_000_000,
    )
    with running(app.build(signing_hub(broker_url, settings))) as run:
        published = CliRunner().invoke(
            main,
            ["publish", "--as", "portal", "--message-id", "signed-1", "--signing-key",
             private_key_text(PARTNER_KEY), "dossier.submitted", str(signed_file)],
        )  # fmt: skip
        assert published.exit_code == 0, published.output
        Transport(broker_url).publish_confirmed([unsigned])
        assert run.worker.wait_settled(2, WAIT)
    egress: list[Any] = receive(broker_url, "egress.onestop", count=2, timeout=2.0)
    dead: list[Any] = receive(broker_url, "hub.dead.portal", count=2, timeout=2.0)
    assert [m.headers["x-hub-source-message-id"] for m in egress] == ["signed-1"]
    assert [(m.properties["message_id"], m.headers["x-hub-reason"]) for m in dead] == [
        ("unsigned-1", "bad_signature")
    ]
    assert dead[0].headers["x-hub-detail"] == "headers.x-hub-signature: required on ingress.portal"
    (out,) = egress
    hub_keys = {hub_key["key id"]: hub_key["public key"]}
    message_id, timestamp = out.properties["message_id"], out.properties["timestamp"]
    assert verify_example.from_the_hub(hub_keys, message_id, timestamp, out.headers, out.body)
    assert not verify_example.from_the_hub(hub_keys, message_id, timestamp, out.headers, out.body + b"\n")


def test_an_operators_replay_keeps_the_signature_and_is_judged_however_old(
    broker_url: str,
    settings: Settings,
    portal: FakePortal,
    operator: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dead letter keeps the partner's signature, so its replay verifies in required mode; the
    operator vouches for its age. The partner sending the same old message again is refused stale."""
    name, operator_url = operator
    strict = signing_hub(broker_url, settings).model_copy(
        update={"ingress_users": {"portal": ["guest"]}, "replay_users": [name]}
    )
    half_an_hour_ago = datetime.now(UTC) - timedelta(minutes=30)
    filing = portal.message("dossier.submitted", portal.dossier_submitted(NEW_UNIT), at=half_an_hour_ago)
    filing = replace(filing, properties=Signer(PARTNER_KEY).sign(filing.properties, filing.body))
    with running(app.build(strict)) as run:
        Transport(broker_url).publish_confirmed([filing])
        assert run.worker.wait_settled(1, WAIT)  # signature fine, agency unknown: dead-lettered
    unit = strict.agencies[0].model_copy(update={"code": NEW_UNIT, "name": "new unit (sample)"})
    fixed = strict.model_copy(
        update={"agencies": [*strict.agencies, unit], "signature_max_age_seconds": 60.0}
    )
    monkeypatch.setenv("HUB_BROKER_URL", operator_url)
    with running(app.build(fixed)) as run:
        replayed = CliRunner().invoke(main, ["dead-letters", "replay", "portal"])
        assert replayed.exit_code == 0, replayed.output
        assert run.worker.wait_settled(1, WAIT)
        [delivered] = receive(broker_url, "egress.onestop", count=1, timeout=WAIT)
        assert delivered.headers["x-hub-source-message-id"] == filing.properties.message_id
        Transport(broker_url).publish_confirmed([filing])  # the partner, with the same old message
        assert run.worker.wait_settled(2, WAIT)
    [refused] = receive(broker_url, "hub.dead.portal", count=2, timeout=2.0)
    assert refused.headers["x-hub-reason"] == "bad_signature"
    assert refused.headers["x-hub-detail"] == (
        "properties.timestamp: older than 60 seconds when received (stale)"
    )
