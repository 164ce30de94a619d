"""Signed messages (reliability item 22): each way a signature can be wrong is refused before the body
is read, rotation with an overlap keeps valid traffic flowing, and egress carries the hub's signature
that the partners' documented example accepts."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

import connectors
from connectors.portal.fake import FakePortal
from hub import app
from hub.agencies import AgencyRegistry
from hub.cli import main
from hub.cli_signatures import signed_ingress
from hub.connector import Context
from hub.docs import verify_example
from hub.envelope import HEADER_REPLAYED_FROM_USER, Delivery, Outbound
from hub.errors import ConfigError
from hub.event_seal import KeysInMemory
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.settings import Settings, load_settings
from hub.signatures import (
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    Signer,
    key_id_of,
    public_key_text,
    signed_bytes,
)
from tests.conftest import PROVINCE_UNIT
from tests.unit.test_pipeline import NOW, REGISTRY

KIND = "dossier.submitted"
OLD = Ed25519PrivateKey.from_private_bytes(bytes([1] * 32))
NEW = Ed25519PrivateKey.from_private_bytes(bytes([2] * 32))
STRANGER = Ed25519PrivateKey.from_private_bytes(bytes([3] * 32))
NOW_MS = int(NOW.timestamp() * 1000)


class Forwarded:
    """The seen-messages view of a hub that already forwarded one message."""

    def __init__(self, message_id: str, body: bytes) -> None:
        self._key = ("portal", message_id)
        self._hash = hashlib.sha256(body).hexdigest()

    def body_hash(self, partner: str, message_id: str) -> str | None:
        return self._hash if (partner, message_id) == self._key else None


def keys_of(*private_keys: Ed25519PrivateKey) -> dict[str, str]:
    return {key_id_of(k.public_key()): public_key_text(k.public_key()) for k in private_keys}


def signing(settings: Settings, mode: str, *listed: Ed25519PrivateKey, **more: Any) -> Settings:
    chosen = {"signatures": {"portal": mode}, "signature_public_keys": {"portal": keys_of(*listed)}}
    return settings.model_copy(update={**chosen, **more})


def pipeline(settings: Settings, seen: Forwarded | None = None) -> Pipeline:
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    context = Context(AgencyRegistry(settings.agencies))
    return Pipeline(chosen, settings, context, REGISTRY, keys=KeysInMemory(), clock=lambda: NOW, seen=seen)


def signed(message: Outbound, key: Ed25519PrivateKey) -> Outbound:
    return replace(message, properties=Signer(key).sign(message.properties, message.body))


def delivered(message: Outbound, received_ms: int | None = None) -> Delivery:
    return Delivery(
        "portal", message.exchange, message.routing_key, message.body, message.properties,
        received_ms=received_ms,
    )  # fmt: skip


def with_headers(message: Outbound, **headers: Any) -> Outbound:
    changed = {**message.properties.headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return replace(message, properties=replace(message.properties, headers=changed))


def reason(outcome: Outcome) -> str:
    if not outcome.rejected:
        return outcome.record.outcome
    return str(outcome.outputs[0].properties.headers["x-hub-reason"])


@pytest.fixture
def message(portal: FakePortal) -> Outbound:
    return portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT), at=NOW)


def flip_bit(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_a_message_signed_with_a_listed_key_is_forwarded(settings: Settings, message: Outbound) -> None:
    outcome = pipeline(signing(settings, "required", OLD)).process(delivered(signed(message, OLD)))
    assert reason(outcome) == "forwarded"


def test_a_flipped_bit_anywhere_it_signs_is_refused(settings: Settings, message: Outbound) -> None:
    run = pipeline(signing(settings, "required", OLD))
    good = signed(message, OLD)
    p = good.properties
    signature = base64.b64decode(p.headers[HEADER_SIGNATURE])
    altered = [
        replace(good, body=flip_bit(good.body, len(good.body) // 2)),
        replace(good, properties=replace(p, message_id=flip_bit(p.message_id.encode(), 3).decode())),  # type: ignore[union-attr]
        replace(good, properties=replace(p, timestamp=(p.timestamp or 0) - 1)),
        with_headers(good, x_hub_signature=base64.b64encode(flip_bit(signature, 10)).decode()),
    ]
    for message_altered in altered:
        outcome = run.process(delivered(message_altered))
        assert reason(outcome) == "bad_signature"
        assert outcome.record.detail == (
            "headers.x-hub-signature: does not verify (message_id, timestamp or body altered, or signed "
            "with another key)"
        )


def test_a_wrong_key_under_a_listed_id_is_refused(settings: Settings, message: Outbound) -> None:
    forged = with_headers(signed(message, STRANGER), x_hub_key_id=key_id_of(OLD.public_key()))
    outcome = pipeline(signing(settings, "required", OLD)).process(delivered(forged))
    assert reason(outcome) == "bad_signature"


def test_an_unknown_key_id_is_refused(settings: Settings, message: Outbound) -> None:
    outcome = pipeline(signing(settings, "required", OLD)).process(delivered(signed(message, STRANGER)))
    assert reason(outcome) == "bad_signature"
    assert outcome.record.detail == "headers.x-hub-key-id: not a key listed for portal"


def test_a_signature_that_is_not_one_is_refused(settings: Settings, message: Outbound) -> None:
    run = pipeline(signing(settings, "required", OLD))
    good = signed(message, OLD)
    for value in ("not base64!", base64.b64encode(bytes(63)).decode(), "A" * 200, 42, b"\xff"):
        outcome = run.process(delivered(with_headers(good, x_hub_signature=value)))
        assert reason(outcome) == "bad_signature"
    outcome = run.process(delivered(with_headers(good, x_hub_signature=None)))
    assert reason(outcome) == "bad_signature"


def test_required_refuses_an_unsigned_message_before_reading_its_body(
    settings: Settings, message: Outbound
) -> None:
    run = pipeline(signing(settings, "required", OLD))
    assert reason(run.process(delivered(message))) == "bad_signature"
    not_json = replace(message, body=b"{not json")
    outcome = run.process(delivered(not_json))
    assert reason(outcome) == "bad_signature"
    assert outcome.record.detail == "headers.x-hub-signature: required on ingress.portal"
    # Signed, the same body reaches the parser and gets its own reason.
    assert reason(run.process(delivered(signed(not_json, OLD)))) == "malformed_json"


def test_optional_checks_a_signature_when_there_is_one(settings: Settings, message: Outbound) -> None:
    run = pipeline(signing(settings, "optional", OLD))
    assert reason(run.process(delivered(message))) == "forwarded"
    assert reason(run.process(delivered(signed(message, OLD)))) == "forwarded"
    assert reason(run.process(delivered(signed(message, STRANGER)))) == "bad_signature"
    assert reason(run.process(delivered(with_headers(message, x_hub_key_id="nokey")))) == "bad_signature"


def test_off_checks_nothing(settings: Settings, message: Outbound) -> None:
    run = pipeline(signing(settings, "off", OLD))
    assert reason(run.process(delivered(signed(message, STRANGER)))) == "forwarded"
    assert reason(pipeline(settings).process(delivered(signed(message, STRANGER)))) == "forwarded"


def test_rotation_accepts_both_keys_while_both_are_listed(settings: Settings, portal: FakePortal) -> None:
    overlap = pipeline(signing(settings, "required", OLD, NEW))
    after = pipeline(signing(settings, "required", NEW))
    for key, during, later in ((OLD, "forwarded", "bad_signature"), (NEW, "forwarded", "forwarded")):
        message = signed(portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT), at=NOW), key)
        assert reason(overlap.process(delivered(message))) == during
        assert reason(after.process(delivered(message))) == later


def test_a_stale_or_early_timestamp_is_refused(settings: Settings, portal: FakePortal) -> None:
    run = pipeline(signing(settings, "required", OLD, signature_max_age_seconds=600))
    body = portal.dossier_submitted(PROVINCE_UNIT)
    cases = [
        (NOW - timedelta(seconds=601), "bad_signature"),
        (NOW - timedelta(seconds=599), "forwarded"),
        (NOW + timedelta(seconds=299), "forwarded"),
        (NOW + timedelta(seconds=301), "bad_signature"),
    ]
    for at, expected in cases:
        message = signed(portal.message(KIND, body, message_id=f"at-{at:%H%M%S}", at=at), OLD)
        assert reason(run.process(delivered(message))) == expected, at
    stale = run.process(delivered(signed(portal.message(KIND, body, at=NOW - timedelta(hours=1)), OLD)))
    assert stale.record.detail == "properties.timestamp: older than 600 seconds when received (stale)"


def test_age_counts_until_the_hub_received_it_not_until_it_was_judged(
    settings: Settings, message: Outbound
) -> None:
    """A message that waited on a partition or in the park is not made stale by the wait."""
    run = pipeline(signing(settings, "required", OLD, signature_max_age_seconds=60))
    an_hour_ago = replace(message.properties, timestamp=int(NOW.timestamp()) - 3600)
    late_message = signed(replace(message, properties=an_hour_ago), OLD)
    received_then = NOW_MS - 3600_000 + 30_000  # received 30 s after it was signed, judged an hour later
    assert reason(run.process(delivered(late_message, received_ms=received_then))) == "forwarded"
    assert reason(run.process(delivered(late_message))) == "bad_signature"


def test_a_replayed_id_is_a_duplicate_or_a_conflict_never_forwarded_twice(
    settings: Settings, message: Outbound
) -> None:
    first = signed(message, OLD)
    forwarded = Forwarded(message.properties.message_id or "", message.body)
    run = pipeline(signing(settings, "required", OLD), seen=forwarded)
    assert reason(run.process(delivered(first))) == "duplicate"
    later = replace(
        first, properties=replace(first.properties, timestamp=(first.properties.timestamp or 0) + 5)
    )
    assert reason(run.process(delivered(signed(later, OLD)))) == "duplicate"  # signed again, same body
    other_body = signed(replace(message, body=message.body.replace(b"}", b', "x": 1}', 1)), OLD)
    assert reason(run.process(delivered(other_body))) == "conflicting_duplicate"
    forged = replace(first, body=other_body.body)  # another body under the first signature
    assert reason(run.process(delivered(forged))) == "bad_signature"


def test_an_operators_replay_is_judged_however_old_but_still_verified(
    settings: Settings, message: Outbound
) -> None:
    run = pipeline(signing(settings, "required", OLD, signature_max_age_seconds=60, replay_users=["ops"]))
    old = replace(message, properties=replace(message.properties, timestamp=int(NOW.timestamp()) - 86_400))
    replayed = with_headers(signed(old, OLD), x_hub_replayed_from_user="guest")
    replayed = replace(replayed, properties=replace(replayed.properties, user_id="ops"))
    assert HEADER_REPLAYED_FROM_USER in replayed.properties.headers
    assert reason(run.process(delivered(replayed))) == "forwarded"
    assert (
        reason(run.process(delivered(replace(replayed, body=flip_bit(replayed.body, 5))))) == "bad_signature"
    )
    by_partner = replace(replayed, properties=replace(replayed.properties, user_id="guest"))
    assert reason(run.process(delivered(by_partner))) == "bad_signature"  # only an operator is exempt


def test_rejections_never_quote_the_signature_or_the_body(settings: Settings, message: Outbound) -> None:
    run = pipeline(signing(settings, "required", OLD, signature_max_age_seconds=1))
    good = signed(message, OLD)
    signature = str(good.properties.headers[HEADER_SIGNATURE])
    body = json.loads(message.body)
    personal = [body["ChuHoSo"], body["SoGiayToChuHoSo"], body["SoDienThoai"]]
    bad = [
        replace(good, body=flip_bit(good.body, 40)),
        signed(message, STRANGER),
        replace(good, properties=replace(good.properties, timestamp=0)),
    ]
    for each in bad:
        outcome = run.process(delivered(each))
        headers = dict(outcome.outputs[0].properties.headers)
        added = json.dumps([headers["x-hub-reason"], headers["x-hub-detail"], outcome.record.detail])
        assert "bad_signature" in added
        assert not any(secret in added for secret in [signature, *personal])
        assert str(each.properties.headers[HEADER_KEY_ID]) not in added


def test_egress_is_signed_and_the_partners_example_accepts_it(settings: Settings, message: Outbound) -> None:
    outcome = pipeline(settings).process(delivered(message))
    egress = [o for o in outcome.outputs if o.exchange.startswith("egress.")]
    assert egress
    signer = settings.egress_signer()
    assert signer is not None
    hub_keys = {signer.key_id: public_key_text(signer.public_key)}
    for output in egress:
        p = output.properties
        assert p.message_id is not None
        assert p.timestamp is not None
        headers = dict(p.headers)
        check = verify_example.from_the_hub
        # The example judges age by the wall clock; NOW is a fixed day, so give it room.
        room = 10 * 365 * 86_400
        assert check(hub_keys, p.message_id, p.timestamp, headers, output.body, max_age_seconds=room)
        assert not check(
            hub_keys, p.message_id, p.timestamp, headers, output.body + b" ", max_age_seconds=room
        )
        assert not check(hub_keys, p.message_id, p.timestamp + 1, headers, output.body, max_age_seconds=room)
        assert not check({"other": hub_keys[signer.key_id]}, p.message_id, p.timestamp, headers, output.body)
        assert not check(hub_keys, p.message_id, p.timestamp, headers, output.body, max_age_seconds=60)
    others = [o for o in outcome.outputs if not o.exchange.startswith("egress.")]
    assert all(HEADER_SIGNATURE not in o.properties.headers for o in others)  # events: the hub's own


def test_egress_signing_can_be_turned_off(settings: Settings, message: Outbound) -> None:
    quiet = settings.model_copy(update={"sign_egress": False})
    outcome = pipeline(quiet).process(delivered(message))
    assert outcome.outputs
    assert all(HEADER_SIGNATURE not in o.properties.headers for o in outcome.outputs)


def test_the_configured_egress_key_and_id_sign(settings: Settings) -> None:
    seed = base64.b64encode(bytes([9] * 32)).decode()
    configured = settings.model_copy(
        update={"egress_signing_key": SecretStr(seed), "egress_signing_key_id": "hub-2026"}
    )
    signer = configured.egress_signer()
    assert signer is not None
    assert signer.key_id == "hub-2026"
    assert public_key_text(signer.public_key) == public_key_text(
        Ed25519PrivateKey.from_private_bytes(bytes([9] * 32)).public_key()
    )
    assert settings.uses_development_egress_key()
    assert not configured.uses_development_egress_key()


def test_the_example_signs_the_bytes_the_hub_signs() -> None:
    for args in (("m-1", 1_700_000_000, b"{}"), ("x", 0, b""), ("id with spaces", 5, b"\x00\x01")):
        assert verify_example.signed_bytes(*args) == signed_bytes(*args)
    assert signed_bytes("a", 1, b"") != signed_bytes("a\x001", 1, b"")  # fields never run together


@pytest.mark.parametrize(
    ("update", "named"),
    [
        ({"signatures": {"portal": "required"}}, "signatures.portal is required: list its keys"),
        ({"signature_public_keys": {"portal": {"k1": "not base64"}}}, "signature_public_keys.portal.k1"),
        ({"signature_public_keys": {"portal": {"k1": base64.b64encode(bytes(31)).decode()}}}, "32 bytes"),
        ({"signature_public_keys": {"portal": {"bad id!": keys_of(OLD).popitem()[1]}}}, "a key id is"),
        ({"egress_signing_key": SecretStr("short")}, "egress_signing_key"),
    ],
)
def test_bad_signature_settings_name_the_setting(
    settings: Settings, update: dict[str, Any], named: str
) -> None:
    wrong = settings.model_copy(update=update)
    with pytest.raises(ConfigError, match=named):
        pipeline(wrong)


def test_signature_modes_are_a_closed_set() -> None:
    with pytest.raises(ConfigError, match=r"HUB_SIGNATURES\.portal"):
        load_settings(signatures={"portal": "sometimes"})


def test_a_partner_keypair_from_the_cli_signs_what_the_hub_then_accepts(
    settings: Settings, message: Outbound, tmp_path: Path
) -> None:
    printed = CliRunner().invoke(main, ["keys", "partner-keypair", "portal"])
    assert printed.exit_code == 0, printed.output
    lines = dict(line.split(": ", 1) for line in printed.output.splitlines() if ": " in line)
    private = next(v for k, v in lines.items() if k.startswith("private key"))
    key_id, public = lines["key id"], lines["public key"]
    toml = [line.strip() for line in printed.output.splitlines() if line.startswith("  ")]
    (tmp_path / "hub.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    from_file = load_settings(tmp_path / "hub.toml")  # the printed lines, as an operator pastes them
    assert from_file.signature_public_keys == {"portal": {key_id: public}}
    update = {"signatures": from_file.signatures, "signature_public_keys": from_file.signature_public_keys}
    configured = settings.model_copy(update=update)
    assert configured.signature_verifier().mode("portal") == "required"
    partner_signed = signed_ingress(message, private, None)
    assert reason(pipeline(configured).process(delivered(partner_signed))) == "forwarded"
    chosen = CliRunner().invoke(main, ["keys", "partner-keypair", "portal", "--key-id", "portal-2026"])
    assert "key id: portal-2026" in chosen.output
    refused = CliRunner().invoke(main, ["keys", "partner-keypair", "portal", "--key-id", "no spaces"])
    assert refused.exit_code != 0


def test_the_egress_public_key_the_cli_prints_verifies_egress(
    settings: Settings, message: Outbound, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = base64.b64encode(bytes([7] * 32)).decode()
    monkeypatch.setenv("HUB_EGRESS_SIGNING_KEY", seed)
    printed = CliRunner().invoke(main, ["keys", "egress-public-key"])
    assert printed.exit_code == 0, printed.output
    assert "warning" not in printed.output
    lines = dict(line.split(": ", 1) for line in printed.output.splitlines())
    keyed = settings.model_copy(update={"egress_signing_key": SecretStr(seed)})
    output = next(
        o for o in pipeline(keyed).process(delivered(message)).outputs if o.exchange.startswith("egress.")
    )
    p = output.properties
    assert p.message_id is not None
    assert p.timestamp is not None
    hub_keys = {lines["key id"]: lines["public key"]}
    room = 10 * 365 * 86_400
    assert verify_example.from_the_hub(
        hub_keys, p.message_id, p.timestamp, dict(p.headers), output.body, max_age_seconds=room
    )
    monkeypatch.delenv("HUB_EGRESS_SIGNING_KEY")
    assert "development key" in CliRunner().invoke(main, ["keys", "egress-public-key"]).output


def test_bad_signature_settings_stop_the_hub_before_it_opens_anything(
    settings: Settings, tmp_path: Path
) -> None:
    database = tmp_path / "never.sqlite3"
    wrong = settings.model_copy(
        update={
            "database_url": SecretStr(f"sqlite:///{database}"),
            "signatures": {"postal": "optional"},
        }
    )
    with pytest.raises(ConfigError, match=r"signatures\.postal is optional: list its keys"):
        app.build(wrong)
    assert not database.exists()
