"""The audit log read by operators and auditors: a dossier's trail across the partners, search by
citizen ID, an export that re-verifies offline, erasure by crypto-shredding (one dossier, or by age),
key rotation, and a PII canary that is never stored in clear.

The database is made by the embedded hub carrying the contract's samples, a canary citizen's filing
and some bad messages, so the entries are the ones production writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, func, select

import connectors
from hub import VIETNAM, app
from hub.audit.chain import GENESIS, AuditChain, audit_log, row_hash, sealing_context
from hub.audit.checkpoints import Checkpoint, CheckpointSigner, audit_checkpoints
from hub.audit.entries import OPENED, AuditEntry
from hub.audit.query import FORGOTTEN, export, search_citizen, trail, vietnam_time
from hub.audit.retention import expire, forget
from hub.bus.ingress import ingress_message
from hub.cli_audit import REVEAL_WARNING, audit
from hub.crypto import KeyringError, MasterKeyring, generate_key_text, open_sealed
from hub.envelope import Outbound
from hub.settings import Settings
from hub.store import metadata
from hub.store.database import make_engine
from hub.store.dossiers import RECIPIENT, dossiers
from hub.store.keys import DataKeys, dossier_keys
from tests.helpers import WAIT, running

SAMPLES = Path(connectors.__file__).parent / "samples"
ONLINE = "000.00.30.H30-261129-0001"  # the portal sample, filed by the canary: collection and result by post
AT_COUNTER = "000.00.30.H30-261129-0002"  # the onestop sample, Nguyễn Thị Lan's: result by post
CANARY_NAME = "Quokka Canarywhistle"
CANARY_PHONE = "0961742538"
CANARY_ID = "079305817264"
CANARIES = (CANARY_NAME, CANARY_PHONE, CANARY_ID)
SAMPLE_NAME, SAMPLE_ID = "Nguyễn Thị Lan", "093187001234"
OLD_KEY, NEW_KEY = generate_key_text(), generate_key_text()


def sample_message(partner: str, kind: str, message_id: str, **changes: Any) -> Outbound:
    body = {**json.loads((SAMPLES / f"{partner}.{kind}.json").read_text(encoding="utf-8")), **changes}
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message(partner, kind, raw, message_id=message_id, user_id="guest", timestamp=1)


def canary_filing(message_id: str, phone: str = CANARY_PHONE) -> Outbound:
    """The portal sample filed by the canary citizen: every personal field carries a canary."""
    person = {"hoVaTen": CANARY_NAME, "soDienThoai": CANARY_PHONE}
    sample = json.loads((SAMPLES / "portal.dossier.submitted.json").read_text(encoding="utf-8"))
    return sample_message(
        "portal",
        "dossier.submitted",
        message_id,
        ChuHoSo=CANARY_NAME,
        SoDienThoai=phone,
        SoGiayToChuHoSo=CANARY_ID,
        DiaChiNhanKetQua={**sample["DiaChiNhanKetQua"], **person},
        DiaChiThuGom={**sample["DiaChiThuGom"], **person},
    )


def rounds() -> list[list[Outbound]]:
    """Each round settles before the next: a later one answers an earlier one's orders. Partners are
    consumed concurrently, so one dossier's messages from two partners are in different rounds."""
    collected = sample_message(
        "postal", "shipment.status", "post-1", OrderNumber=f"{ONLINE}/TG", StatusCode=6, CODAmount=None
    )
    unreadable = ingress_message(
        "portal", "dossier.submitted", b"{not json", message_id="p-3", user_id="guest", timestamp=1
    )
    return [
        [
            canary_filing("p-1"),
            sample_message("onestop", "dossier.received", "os-1"),
            canary_filing("p-2", phone="12"),  # validation_failed: a rejection of the canary's dossier
            unreadable,
        ],
        [
            sample_message("portal", "payment.completed", "p-4"),
            sample_message("onestop", "dossier.progress", "os-2"),
            sample_message(
                "onestop", "dossier.progress", "os-3", TrangThaiHoSo=9, ThoiDiemXuLy="20261203140000"
            ),
            sample_message("onestop", "result.ready", "os-4"),
        ],
        [collected, sample_message("postal", "shipment.status", "post-2")],
    ]


def play(settings: Settings, embedded: str) -> None:
    """Carry the rounds through the embedded hub on ``settings``' database."""
    hub = app.build(settings, embedded=embedded)
    try:
        with running(hub) as run:
            published = 0
            for messages in rounds():
                hub.transport.publish_confirmed(messages)
                published += len(messages)
                assert run.worker.wait_settled(published, WAIT)
    finally:
        hub.ledger.engine.dispose()


def invoke(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    # A wide terminal, so that the table does not fold a name across lines.
    return CliRunner().invoke(audit, list(args), obj=settings, input=stdin, env={"COLUMNS": "300"})


def engine_of(settings: Settings) -> Engine:
    engine = make_engine(settings.database_url.get_secret_value())
    metadata.create_all(engine)
    return engine


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def assert_chain_verifies(engine: Engine) -> None:
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()]
    assert rows
    previous = GENESIS
    for row in rows:
        assert (row["prev_hash"], row_hash(row)) == (previous, row["hash"])
        previous = row["hash"]


def openable_text(engine: Engine, keyring: MasterKeyring) -> str:
    """Everything that any live data key opens, in the audit log and in the dossier store."""
    with engine.connect() as connection:
        codes = connection.execute(select(dossier_keys.c.code)).scalars().all()
        live = [key for key in DataKeys(keyring).existing(connection, codes).values() if key is not None]
        sealed = [
            (bytes(row.sealed), sealing_context(row.key_ref, row.body_sha256))
            for row in connection.execute(select(audit_log).where(audit_log.c.sealed.is_not(None)))
        ]
        sealed += [
            (bytes(row.recipient), RECIPIENT + row.code.encode())
            for row in connection.execute(select(dossiers).where(dossiers.c.recipient.is_not(None)))
        ]
    opened = []
    for blob, context in sealed:
        for key in live:
            try:
                opened.append(open_sealed(key, blob, context).decode())
            except KeyringError:
                continue
    return "\n".join(opened)


@pytest.fixture
def played(settings: Settings, embedded: str) -> Settings:
    play(settings, embedded)
    return settings


def test_the_trail_is_the_dossiers_history_across_the_partners_in_time_order(played: Settings) -> None:
    online = trail(engine_of(played), ONLINE)
    assert {item.partner for item in online} == {"portal", "onestop", "postal", "events"}
    assert [(i.time, i.seq) for i in online] == sorted((i.time, i.seq) for i in online)
    assert all(item.time.utcoffset() == VIETNAM.utcoffset(None) for item in online)
    steps = [(i.entry, i.partner, i.kind) for i in online if i.entry != "out" or i.partner != "events"]
    assert steps == [
        ("in", "portal", "dossier.submitted"),
        ("out", "onestop", "dossier.submitted"),
        ("out", "postal", "order.create"),
        ("rejected", "portal", "dossier.submitted"),
        ("in", "portal", "payment.completed"),
        ("out", "onestop", "payment.completed"),
        ("in", "postal", "shipment.status"),
        ("out", "portal", "CapNhatTienDoHoSoMC"),
        ("out", "onestop", "pickup.status"),
    ]
    rejected = next(i for i in online if i.entry == "rejected")
    assert (rejected.reason, rejected.payload) == ("validation_failed", "***")
    assert rejected.detail is not None
    assert rejected.detail.startswith("$.SoDienThoai")
    counter = [(i.entry, i.partner, i.kind) for i in trail(engine_of(played), AT_COUNTER)]
    assert counter[0] == ("in", "onestop", "dossier.received")
    assert counter[-3:] == [
        ("out", "onestop", "result.delivery"),
        ("out", "events", "dossier.progress"),
        ("out", "portal", "CapNhatTienDoHoSoMC"),
    ]


def test_the_trail_masks_personal_values_unless_revealed_with_the_keys(played: Settings) -> None:
    masked_table, masked_json = invoke(played, "trail", ONLINE), invoke(played, "trail", ONLINE, "--json")
    assert masked_table.exit_code == masked_json.exit_code == 0
    assert "validation_failed" in masked_table.stdout
    assert ONLINE in masked_table.stdout
    for canary in CANARIES:
        assert canary not in masked_table.output
        assert canary not in masked_json.output
    first = json_lines(masked_json.stdout)[0]
    assert (first["payload"]["ChuHoSo"], first["payload"]["MaHoSo"]) == ("***", ONLINE)

    revealed = invoke(played, "trail", ONLINE, "--reveal", "--json")
    assert revealed.exit_code == 0, revealed.output
    assert revealed.stderr.strip() == REVEAL_WARNING
    for canary in CANARIES:
        assert canary in revealed.stdout
    items = json_lines(revealed.stdout)
    assert items[0]["payload"]["DiaChiThuGom"]["hoVaTen"] == CANARY_NAME
    rejected = next(i for i in items if i["entry"] == "rejected")
    assert rejected["payload"]["SoDienThoai"] == "12"  # the unread body, whole
    table = invoke(played, "trail", ONLINE, "--reveal")
    assert CANARY_NAME in table.stdout


def test_search_by_citizen_id_finds_the_dossiers_through_the_pseudonym(played: Settings) -> None:
    found = search_citizen(engine_of(played), played.pseudonymizer(), CANARY_ID)
    assert [(hit.dossier, hit.entries) for hit in found] == [(ONLINE, len(trail(engine_of(played), ONLINE)))]
    assert found[0].first_seen <= found[0].last_seen
    canary = invoke(played, "search", "--citizen-id", CANARY_ID)
    assert canary.exit_code == 0
    assert ONLINE in canary.stdout
    assert AT_COUNTER not in canary.stdout
    asked = invoke(played, "search", stdin=f"{SAMPLE_ID}\n")  # prompted, not echoed
    assert AT_COUNTER in asked.stdout
    assert SAMPLE_ID not in asked.stdout
    nobody = invoke(played, "search", "--citizen-id", "079305817265")
    assert (nobody.exit_code, nobody.stdout.strip()) == (0, "no dossier found for this citizen ID")
    malformed = invoke(played, "search", "--citizen-id", "07930581726x")
    assert malformed.exit_code == 1
    assert "12 digits expected" in malformed.output
    assert "07930581726x" not in malformed.output


def test_the_export_holds_every_entry_as_stored_and_verifies_offline(
    played: Settings, tmp_path: Path
) -> None:
    engine = engine_of(played)
    with engine.connect() as connection:
        first_ms, last_ms, count = connection.execute(
            select(func.min(audit_log.c.recorded_at_ms), func.max(audit_log.c.recorded_at_ms), func.count())
        ).one()
    days = [vietnam_time(ms).date().isoformat() for ms in (first_ms, last_ms)]
    out = tmp_path / "audit.jsonl"
    result = invoke(played, "export", "--since", days[0], "--until", days[1], "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    lines = json_lines(text)
    rows = [line for line in lines if "checkpoint" not in line]
    signed = len(lines) - len(rows)  # the worker signs after its first commit and at shutdown
    assert signed >= 1
    assert result.stderr.startswith(f"exported {count} entries (seq 1..{count}) and {signed} checkpoints")
    assert [row["seq"] for row in rows] == list(range(1, count + 1))
    previous = GENESIS
    for row in rows:  # what an auditor does offline: every hash again, every link
        assert (row["prev_hash"], row_hash(row)) == (previous, row["hash"])
        previous = row["hash"]
    sealed = [row["sealed"] for row in rows if row["sealed"] is not None]
    assert sealed
    assert all(base64.b64decode(blob, validate=True) for blob in sealed)
    assert not any(canary in text for canary in CANARIES)
    # The range is by recording time: only the entries of the last millisecond here.
    latest = list(export(engine, vietnam_time(last_ms), vietnam_time(last_ms + 1)))
    assert latest
    assert {row["recorded_at_ms"] for row in latest} == {last_ms}


def test_an_export_of_days_without_entries_is_empty_and_a_reversed_range_refused(played: Settings) -> None:
    empty = invoke(played, "export", "--since", "2020-01-01", "--until", "2020-01-31")
    assert (empty.exit_code, empty.stdout) == (0, "")
    reversed_range = invoke(played, "export", "--since", "2026-02-01", "--until", "2026-01-31")
    assert reversed_range.exit_code == 1
    assert "--until is before --since" in reversed_range.output


def test_the_export_ends_with_the_checkpoints_that_vouch_for_its_entries(played: Settings) -> None:
    engine = engine_of(played)
    signer = CheckpointSigner(played.audit_private_key())
    with engine.begin() as connection:
        connection.execute(audit_checkpoints.delete())  # whatever the hub signed: these are known
        count = connection.execute(select(func.count()).select_from(audit_log)).scalar_one()
        head = signer.write(connection, datetime.now(UTC))
        assert head is not None
        assert head.seq == count
        others = [signer.sign(seq, f"{seq:064x}", seq) for seq in (5, count + 20)]
        connection.execute(
            audit_checkpoints.insert(),
            [
                {
                    "seq": c.seq,
                    "head_hash": c.head_hash,
                    "at_ms": c.at_ms,
                    "key_id": c.key_id,
                    "signature": c.signature,
                }
                for c in others
            ],
        )
    lines = json_lines(invoke(played, "export", "--since", "2020-01-01", "--until", "2099-12-31").stdout)
    assert len(lines) == count + 2
    vouching = [line["checkpoint"] for line in lines[count:]]
    assert [c["seq"] for c in vouching] == [5, count]  # not the one after the first that covers all
    signed = Checkpoint.from_json(json.dumps(vouching[1]))
    assert signed.verifies(signer.public_key)  # offline, with the public key alone
    assert signed.head_hash == lines[count - 1]["hash"]
    assert vouching[0]["signature"] == base64.b64encode(others[0].signature).decode()


def test_forgetting_a_dossier_shreds_its_personal_data_and_the_chain_still_verifies(played: Settings) -> None:
    engine = engine_of(played)
    assert CANARY_NAME in openable_text(engine, played.keyring())  # the check below can fail
    done = invoke(played, "forget", ONLINE)
    assert done.exit_code == 0
    assert done.stdout.startswith(f"forgot dossier {ONLINE}: data key destroyed")
    again = invoke(played, "forget", ONLINE)
    assert (again.exit_code, again.stdout.split(" has ")[0]) == (0, f"dossier {ONLINE}")
    assert "no live data key" in again.stdout

    revealed = invoke(played, "trail", ONLINE, "--reveal", "--json")
    assert revealed.exit_code == 0
    assert not any(canary in revealed.stdout for canary in CANARIES)
    items = json_lines(revealed.stdout)
    assert items[0]["payload"]["ChuHoSo"] == FORGOTTEN
    assert items[0]["payload"]["MaTTHC"] == "1.001776"  # what happened is still told
    assert next(i for i in items if i["entry"] == "rejected")["payload"] == FORGOTTEN
    assert not any(canary in openable_text(engine, played.keyring()) for canary in CANARIES)
    assert SAMPLE_NAME in invoke(played, "trail", AT_COUNTER, "--reveal", "--json").stdout
    assert_chain_verifies(engine)


def test_forgetting_an_unknown_dossier_is_refused(played: Settings) -> None:
    result = invoke(played, "forget", "000.00.30.H30-261129-9999")
    assert result.exit_code == 1
    assert "no audit entries for dossier 000.00.30.H30-261129-9999" in result.output
    assert invoke(played, "trail", "000.00.30.H30-261129-9999").exit_code == 1


def test_the_library_forget_says_whether_a_live_key_was_destroyed(played: Settings) -> None:
    engine, keys, now = engine_of(played), DataKeys(played.keyring()), datetime.now(UTC)
    assert forget(engine, keys, AT_COUNTER, now) is True
    assert forget(engine, keys, AT_COUNTER, now) is False
    revealed = trail(engine, AT_COUNTER, reveal_with=keys)
    assert revealed[0].payload["ChuHoSo"] == FORGOTTEN


# Retention: entries written straight through the chain, so their recording times are chosen.
JAN_2025 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAR_2026 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)
JUNE_2026 = datetime(2026, 6, 1, tzinfo=UTC)


def entry(dossier: str | None, at_ms: int, body: str) -> AuditEntry:
    return AuditEntry(
        recorded_at_ms=at_ms,
        entry="in",
        partner="portal",
        kind="dossier.submitted",
        message_id=body,
        source_message_id=body,
        dossier=dossier,
        schema_fingerprint=None,
        outcome="forwarded",
        reason=None,
        detail=None,
        body_sha256=body * 64,
        clear='{"ChuHoSo":"***"}',
        personal={"ChuHoSo": CANARY_NAME},
        citizen_id=CANARY_ID,
    )


def aged(settings: Settings, entries: Sequence[AuditEntry]) -> Engine:
    engine = engine_of(settings)
    chain = AuditChain(DataKeys(settings.keyring()), settings.pseudonymizer())
    with engine.begin() as connection:
        chain.create(connection)
        chain.append(connection, entries)
    return engine


def test_retention_forgets_only_what_had_no_entry_since_the_cutoff(settings: Settings) -> None:
    unread = entry(None, JAN_2025, "e")  # a rejection that named no dossier: its own msg: key
    engine = aged(
        settings,
        [
            entry("D-OLD", JAN_2025, "a"),
            entry("D-BOTH", JAN_2025, "b"),
            entry("D-BOTH", MAR_2026, "c"),
            entry("D-NEW", MAR_2026, "d"),
            unread,
        ],
    )
    keys = DataKeys(settings.keyring())
    assert expire(engine, keys, 365, JUNE_2026) == 2
    assert expire(engine, keys, 365, JUNE_2026) == 0
    with engine.connect() as connection:
        left = keys.existing(connection, ["D-OLD", "D-BOTH", "D-NEW", unread.key_ref])
    assert {code for code, key in left.items() if key is None} == {"D-OLD", unread.key_ref}
    assert trail(engine, "D-OLD", reveal_with=keys)[0].payload == {"ChuHoSo": FORGOTTEN}
    assert trail(engine, "D-BOTH", reveal_with=keys)[1].payload == {"ChuHoSo": CANARY_NAME}
    assert_chain_verifies(engine)


def test_reading_a_dossier_does_not_postpone_its_erasure(settings: Settings) -> None:
    opened = replace(entry("D-OLD", MAR_2026, "b"), entry=OPENED, personal={}, citizen_id=None)
    engine = aged(settings, [entry("D-OLD", JAN_2025, "a"), opened])
    assert expire(engine, DataKeys(settings.keyring()), 365, JUNE_2026) == 1


def test_hub_audit_retain_applies_the_setting(settings: Settings) -> None:
    aged(settings, [entry("D-OLD", JAN_2025, "a"), entry("D-NEW", MAR_2026, "b")])
    unset = invoke(settings, "retain")
    assert unset.exit_code == 0
    assert unset.stdout.strip() == "audit_retention_days is not set: nothing is forgotten by age"
    decade = invoke(settings.model_copy(update={"audit_retention_days": 3650}), "retain")
    assert decade.stdout.startswith("forgot 0 ")
    day = invoke(settings.model_copy(update={"audit_retention_days": 1}), "retain")
    assert day.stdout.startswith("forgot 2 ")
    with pytest.raises(ValidationError):
        Settings(audit_retention_days=0)


def test_after_a_master_key_rotation_the_new_key_alone_reveals(settings: Settings, embedded: str) -> None:
    def keyed(**keys: str) -> Settings:
        secrets = {key_id: SecretStr(text) for key_id, text in keys.items()}
        return settings.model_copy(update={"master_keys": secrets, "active_master_key": None})

    play(keyed(old=OLD_KEY), embedded)
    rotating = MasterKeyring.from_text({"old": OLD_KEY, "new": NEW_KEY}, active="new")
    with engine_of(settings).begin() as connection:
        assert DataKeys(rotating).rotate(connection) == 3  # the two dossiers and the unread message
    revealed = invoke(keyed(new=NEW_KEY), "trail", ONLINE, "--reveal", "--json")
    assert revealed.exit_code == 0, revealed.output
    assert all(canary in revealed.stdout for canary in CANARIES)
    retired = invoke(keyed(old=OLD_KEY), "trail", ONLINE, "--reveal")
    assert retired.exit_code == 1
    assert "cannot be unwrapped (master key ids: new)" in retired.output
    assert invoke(keyed(old=OLD_KEY), "trail", ONLINE).exit_code == 0  # masked needs no key


def test_the_pii_canary_is_never_in_clear_in_the_sqlite_files(played: Settings, tmp_path: Path) -> None:
    files = [path for path in tmp_path.iterdir() if path.name.startswith("hub.sqlite3")]  # -wal too
    stored = b"".join(path.read_bytes() for path in files)
    assert b"audit_log" in stored
    for canary in (*CANARIES, SAMPLE_ID):
        assert canary.encode() not in stored
        assert canary.encode("utf-16-le") not in stored
    assert played.pseudonymizer().pseudonym(CANARY_ID).encode() in stored  # searchable by pseudonym only
