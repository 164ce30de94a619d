"""Tamper evidence of the audit log on SQLite: each kind of tampering is named at the right record,
signed checkpoints catch truncation and consistent rewrites, writers on threads keep one chain.

The chain-building and tampering helpers are shared with ``tests/integration/test_audit_postgres``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, delete, event, insert, select, update

import hub.audit.checkpoints as checkpoints_module
import hub.cli_audit_integrity  # noqa: F401  (attaches verify, checkpoint, export-checkpoints)
from hub.audit.chain import GENESIS, AuditChain, audit_head, audit_log, row_hash
from hub.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointPolicy,
    CheckpointSigner,
    audit_checkpoints,
    export_checkpoints,
    raw_public_key,
    read_checkpoints,
)
from hub.audit.entries import AuditEntry
from hub.audit.verify import VerifyReport, verify
from hub.cli_audit import audit
from hub.crypto import MasterKeyring, Pseudonymizer
from hub.errors import ConfigError
from hub.settings import Settings
from hub.store import metadata
from hub.store.database import make_engine
from hub.store.keys import DataKeys

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
SEED = bytes(range(100, 132))
SIGNER = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(SEED))
STRANGER = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(bytes(range(200, 232))))
RECORDS = 50


# --- building a chain ------------------------------------------------------------------------------


def entry(i: int, personal: Mapping[str, Any] | None = None) -> AuditEntry:
    """A deterministic synthetic entry: the same ``i`` gives the same row on any database."""
    body = f"body-{i}".encode()
    code = f"000.00.30.H30-261129-{i % 7:04d}"
    return AuditEntry(
        recorded_at_ms=1_772_353_800_000 + i * 1_001,
        entry="out" if i % 3 == 0 else "in",
        partner="portal",
        kind="dossier.submitted",
        message_id=f"m-{i}",
        source_message_id=f"m-{i - i % 3}",
        dossier=code,
        schema_fingerprint=None if i % 2 else "0f3c9a2b1d4e5f60",
        outcome="forwarded",
        reason=None,
        detail="Tiếp nhận hồ sơ – bưu điện" if i % 5 == 0 else None,
        body_sha256=hashlib.sha256(body).hexdigest(),
        clear=json.dumps({"MaHoSo": code, "TenThuTuc": "Cấp giấy phép", "n": i}, sort_keys=True),
        personal=personal or {},
        citizen_id=f"001203{i:06d}" if i % 4 == 0 else None,
    )


def audit_chain() -> AuditChain:
    keys = DataKeys(MasterKeyring({"m1": bytes(range(32))}, active="m1"))
    return AuditChain(keys, Pseudonymizer(bytes(range(32, 64))))


def write_chain(engine: Engine, count: int = RECORDS, per_batch: int = 6) -> None:
    """Entries 1..count, appended ``per_batch`` per transaction (as the ledger's group commits)."""
    chain = audit_chain()
    with engine.begin() as connection:
        chain.create(connection)
    for start in range(1, count + 1, per_batch):
        with engine.begin() as connection:
            chain.append(connection, [entry(i) for i in range(start, min(start + per_batch, count + 1))])


def sign(engine: Engine, signer: CheckpointSigner = SIGNER) -> Checkpoint:
    with engine.begin() as connection:
        checkpoint = signer.write(connection, NOW)
    assert checkpoint is not None
    return checkpoint


def check(
    engine: Engine, external: tuple[Checkpoint, ...] = (), keys: tuple[CheckpointSigner, ...] = (SIGNER,)
) -> VerifyReport:
    # Small pages: every tampering case also crosses a page boundary somewhere.
    return verify(engine, [k.public_key for k in keys], external, batch=7)


def broken(report: VerifyReport) -> tuple[int, str]:
    assert report.broken is not None, report
    return report.broken.seq, report.broken.kind


def stored_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [
            dict(row) for row in connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings()
        ]


def append_concurrently(engine: Engine, writers: int = 2, batches: int = 60, size: int = 4) -> int:
    """``writers`` threads, each on its own connection, appending small batches and now and then a
    checkpoint, all at once; the number of entries written."""
    chain, start = audit_chain(), threading.Barrier(writers)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait(timeout=10)
            for batch in range(batches):
                first = (number * batches + batch) * size
                with engine.begin() as connection:
                    chain.append(connection, [entry(first + i) for i in range(size)])
                if batch % 15 == 0:
                    with engine.begin() as connection:
                        SIGNER.write(connection, NOW)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    return writers * batches * size


# --- tampering, as someone with write access to the database would ---------------------------------


def set_head(connection: Connection) -> None:
    """Point audit_head at the last row, as a careful forger would."""
    last = connection.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc())
    ).first()
    seq, hash_ = (0, GENESIS) if last is None else (last.seq, last.hash)
    connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=hash_))


def renumber(connection: Connection, start: int, by: int) -> None:
    """Shift records ``start``.. by ``by``, through negative numbers so no two ever collide."""
    seq = audit_log.c.seq
    connection.execute(update(audit_log).where(seq >= start).values(seq=-(seq + by)))
    connection.execute(update(audit_log).where(seq < 0).values(seq=-seq))


def one_row(connection: Connection, seq: int) -> dict[str, Any]:
    return dict(connection.execute(select(audit_log).where(audit_log.c.seq == seq)).mappings().one())


def change_field(engine: Engine, seq: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))


def delete_records(engine: Engine, *seqs: int) -> None:
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq.in_(seqs)))


def delete_and_renumber(engine: Engine, seq: int) -> None:
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq == seq))
        renumber(connection, seq + 1, -1)
        set_head(connection)


def insert_forged(engine: Engine, seq: int) -> None:
    """A forged record at ``seq`` that links to the one before, with its own hash right."""
    with engine.begin() as connection:
        renumber(connection, seq, 1)
        forged = {**one_row(connection, seq + 1), "seq": seq, "message_id": "forged"}
        forged["prev_hash"] = one_row(connection, seq - 1)["hash"]
        forged["hash"] = row_hash(forged)
        connection.execute(insert(audit_log).values(**forged))
        set_head(connection)


def swap(engine: Engine, first: int, second: int) -> None:
    """Swap every column but seq between two records."""
    with engine.begin() as connection:
        a, b = one_row(connection, first), one_row(connection, second)
        for seq, values in ((first, b), (second, a)):
            contents = {k: v for k, v in values.items() if k != "seq"}
            connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(**contents))


def truncate(engine: Engine, after: int, reset_head: bool) -> None:
    with engine.begin() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.seq > after))
        if reset_head:
            set_head(connection)


def rewrite_from(engine: Engine, seq: int, move_head: bool = True, **values: Any) -> None:
    """Change record ``seq`` and recompute every hash from it on: a consistent chain again."""
    with engine.begin() as connection:
        connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(**values))
        previous = GENESIS if seq == 1 else one_row(connection, seq - 1)["hash"]
        later = connection.execute(select(audit_log).where(audit_log.c.seq >= seq).order_by(audit_log.c.seq))
        for row in [dict(r) for r in later.mappings()]:
            row["prev_hash"] = previous
            row["hash"] = previous = row_hash(row)
            connection.execute(update(audit_log).where(audit_log.c.seq == row["seq"]).values(**row))
        if move_head:
            set_head(connection)


def rehash_one(engine: Engine, seq: int, **values: Any) -> None:
    with engine.begin() as connection:
        row = {**one_row(connection, seq), **values}
        row["hash"] = row_hash(row)
        connection.execute(update(audit_log).where(audit_log.c.seq == seq).values(**row))


def append_behind_the_head(engine: Engine) -> None:
    with engine.begin() as connection:
        last = one_row(connection, RECORDS)
        extra = {**last, "seq": RECORDS + 1, "message_id": "extra", "prev_hash": last["hash"]}
        extra["hash"] = row_hash(extra)
        connection.execute(insert(audit_log).values(**extra))


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """``engine`` holding a chain of RECORDS entries."""
    write_chain(engine)
    return engine


# --- the chain -------------------------------------------------------------------------------------


def test_a_clean_chain_verifies_reading_page_by_page(chain: Engine) -> None:
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM audit_log" in statement:
            selects.append(statement)

    event.listen(chain, "before_cursor_execute", count)
    report = check(chain)
    assert report.ok, report.problems()
    assert (report.records, report.last_seq, report.broken) == (RECORDS, RECORDS, None)
    assert len(selects) == 8  # 50 rows, 7 a page: 7 full pages and a short one, never all at once
    assert report.records_per_second > 0


def test_an_empty_log_verifies(engine: Engine) -> None:
    report = check(engine)
    assert report.ok
    assert report.records == 0


@pytest.mark.parametrize(
    ("tamper", "expected", "words"),
    [
        (lambda e: change_field(e, 17, detail="sửa"), (17, "changed"), "record 17 was changed"),
        (lambda e: change_field(e, 1, recorded_at_ms=1), (1, "changed"), "record 1 was changed"),
        (lambda e: change_field(e, RECORDS, outcome="dead_lettered"), (RECORDS, "changed"), "was changed"),
        (lambda e: change_field(e, 17, hash="f" * 64), (17, "changed"), "record 17 was changed"),
        (lambda e: change_field(e, 17, prev_hash="0" * 64), (17, "changed"), "record 17 was changed"),
        (lambda e: delete_records(e, 17), (17, "missing"), "record 17 is missing"),
        (lambda e: delete_records(e, 17, 18, 19), (17, "missing"), "records 17 to 19 are missing"),
        (lambda e: delete_records(e, 1), (1, "missing"), "record 1 is missing"),
        (lambda e: delete_and_renumber(e, 17), (17, "missing"), "record 17 was record 18"),
        (lambda e: insert_forged(e, 17), (17, "inserted"), "record 17 was inserted"),
        (lambda e: swap(e, 17, 18), (17, "swapped"), "records 17 and 18 were swapped"),
        (lambda e: swap(e, 17, 30), (17, "swapped"), "records 17 and 30 were swapped"),
        (lambda e: rehash_one(e, 17, detail="x"), (18, "unlinked"), "record 17 was rewritten"),
        (lambda e: truncate(e, 40, reset_head=False), (41, "truncated"), "audit_head is at record 50"),
        (lambda e: rewrite_from(e, 17, move_head=False, detail="x"), (RECORDS, "rewritten"), "audit_head"),
        (append_behind_the_head, (RECORDS + 1, "appended"), "records 51 to 51 lie beyond audit_head"),
    ],
    ids=[
        "change-detail",
        "change-first",
        "change-last",
        "change-hash",
        "change-prev-hash",
        "delete",
        "delete-three",
        "delete-first",
        "delete-renumber",
        "insert-renumber",
        "swap-neighbours",
        "swap-apart",
        "rehash-one",
        "truncate-tail",
        "rewrite-head-left",
        "append-behind-head",
    ],
)
def test_each_tampering_is_named_at_its_record(chain: Engine, tamper: Any, expected: Any, words: str) -> None:
    tamper(chain)
    report = check(chain)
    assert broken(report) == expected
    assert report.broken is not None
    assert words in report.broken.message
    assert not report.ok


def test_personal_parts_are_chained_as_sealed_bytes(engine: Engine) -> None:
    chain = audit_chain()
    with engine.begin() as connection:
        chain.create(connection)
        chain.append(connection, [entry(i, {"SoGiayToChuHoSo": f"00120300{i:04d}"}) for i in range(1, 6)])
    assert all(isinstance(row["sealed"], bytes) for row in stored_rows(engine))
    assert check(engine).ok
    sealed = stored_rows(engine)[2]["sealed"]
    change_field(engine, 3, sealed=sealed[:-1] + bytes([sealed[-1] ^ 1]))
    assert broken(check(engine)) == (3, "changed")


# --- without checkpoints, some tampering is invisible; with them it is not ---------------------------


def test_a_truncation_resetting_the_head_needs_a_checkpoint(chain: Engine) -> None:
    truncate(chain, 40, reset_head=True)
    report = check(chain)
    assert report.ok  # the limit of a bare hash chain, hence checkpoints
    assert report.last_seq == 40


def test_a_signed_checkpoint_catches_a_truncated_tail(chain: Engine) -> None:
    sign(chain)
    truncate(chain, 40, reset_head=True)
    report = check(chain)
    assert broken(report) == (41, "truncated")
    assert report.broken is not None
    assert report.broken.message == (
        "the chain was truncated after record 40: the checkpoint signed at 2026-03-01T08:30:00+00:00 "
        "covers records up to 50"
    )


def test_a_consistent_rewrite_is_found_at_the_first_checkpoint_after_it(engine: Engine) -> None:
    write_chain(engine, 10)
    sign(engine)
    for _ in range(2):
        with engine.begin() as connection:
            audit_chain().append(connection, [entry(i) for i in range(20)])
        sign(engine)
    assert [c.seq for c in read_all(engine)] == [10, 30, 50]
    rewrite_from(engine, 17, detail="rewritten")
    report = check(engine)
    assert report.checkpoints == 3
    assert broken(report) == (30, "rewritten")
    assert report.broken is not None
    assert "the chain was rewritten: record 30 differs from the checkpoint signed at" in report.broken.message
    assert "(the change is in records 11 to 30)" in report.broken.message


def test_a_consistent_rewrite_without_a_checkpoint_goes_unseen(chain: Engine) -> None:
    rewrite_from(chain, 17, detail="rewritten")
    assert check(chain).ok  # the limit of a bare hash chain, hence checkpoints


def test_a_forged_checkpoint_is_reported_and_not_trusted(chain: Engine) -> None:
    checkpoint = sign(chain)
    rewrite_from(chain, 17, detail="rewritten")
    with chain.begin() as connection:  # without the private key, the forger can only edit the row
        new_head = one_row(connection, RECORDS)["hash"]
        connection.execute(update(audit_checkpoints).values(head_hash=new_head))
    report = check(chain)
    assert report.broken is None  # the forged checkpoint is not used
    assert [(b.seq, b.kind) for b in report.bad_checkpoints] == [(checkpoint.seq, "bad_signature")]
    assert "does not verify" in report.bad_checkpoints[0].message
    assert report.checkpoints == 0
    assert not report.ok


def test_a_checkpoint_by_an_unknown_key_is_reported(chain: Engine) -> None:
    checkpoint = sign(chain, STRANGER)
    report = check(chain)
    assert [(b.seq, b.kind) for b in report.bad_checkpoints] == [(RECORDS, "unknown_key")]
    assert checkpoint.key_id in report.bad_checkpoints[0].message
    assert check(chain, keys=(SIGNER, STRANGER)).ok


@pytest.mark.parametrize("forger", ["deletes", "edits"])
def test_an_exported_checkpoint_catches_a_rewrite_of_chain_and_checkpoints(
    chain: Engine, tmp_path: Path, forger: str
) -> None:
    sign(chain)
    export = tmp_path / "checkpoints.jsonl"
    with chain.connect() as connection:
        assert export_checkpoints(connection, export, [SIGNER.public_key]) == 1
    rewrite_from(chain, 17, detail="rewritten")
    with chain.begin() as connection:
        if forger == "deletes":
            connection.execute(delete(audit_checkpoints))
        else:
            new_head = one_row(connection, RECORDS)["hash"]
            connection.execute(update(audit_checkpoints).values(head_hash=new_head))
    assert check(chain).broken is None  # the database alone now looks consistent
    report = check(chain, external=tuple(read_checkpoints(export)))
    assert broken(report) == (RECORDS, "rewritten")
    assert report.broken is not None
    assert "(the change is in records 1 to 50)" in report.broken.message


def test_the_same_checkpoint_in_table_and_export_counts_once(chain: Engine, tmp_path: Path) -> None:
    sign(chain)
    export = tmp_path / "checkpoints.jsonl"
    with chain.connect() as connection:
        export_checkpoints(connection, export, [SIGNER.public_key])
    report = check(chain, external=tuple(read_checkpoints(export)))
    assert report.ok
    assert report.checkpoints == 1


# --- checkpoints --------------------------------------------------------------------------------------


def read_all(engine: Engine) -> list[Checkpoint]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings()
        return [Checkpoint.from_row(row) for row in rows]


def test_a_checkpoint_signs_the_head_once(engine: Engine) -> None:
    with engine.begin() as connection:
        assert SIGNER.write(connection, NOW) is None  # no chain yet: nothing to sign
    write_chain(engine, 12)
    first = sign(engine)
    assert (first.seq, first.at_ms, first.key_id) == (12, 1_772_353_800_000, SIGNER.key_id)
    with engine.connect() as connection:
        assert first.head_hash == one_row(connection, 12)["hash"]
    assert first.verifies(SIGNER.public_key)
    assert not first.verifies(STRANGER.public_key)
    with engine.begin() as connection:
        assert SIGNER.write(connection, NOW) is None  # the head has one already
    assert read_all(engine) == [first]


def test_a_checkpoint_a_concurrent_signer_stored_first_is_kept(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_chain(engine, 5)
    theirs = sign(engine)
    # The other signer stores its checkpoint between our look-up and our insert.
    monkeypatch.setattr(checkpoints_module, "_has_checkpoint", lambda *_args: False)
    with engine.begin() as connection:
        assert SIGNER.write(connection, NOW.replace(minute=45)) is None
    assert read_all(engine) == [theirs]


def test_the_signature_covers_every_field(engine: Engine) -> None:
    write_chain(engine, 3)
    checkpoint = sign(engine)
    for changed in ({"seq": 2}, {"head_hash": "0" * 64}, {"at_ms": checkpoint.at_ms + 1}):
        altered = replace(checkpoint, **changed)
        assert not altered.verifies(SIGNER.public_key)


def test_an_export_line_round_trips_with_its_public_key(engine: Engine, tmp_path: Path) -> None:
    write_chain(engine, 3)
    checkpoint = sign(engine)
    export = tmp_path / "out.jsonl"
    with engine.connect() as connection:
        export_checkpoints(connection, export, [SIGNER.public_key])
    line = json.loads(export.read_text().splitlines()[0])
    assert set(line) == {"seq", "head_hash", "at_ms", "key_id", "signature", "public_key"}
    assert base64.b64decode(line["public_key"]) == raw_public_key(SIGNER.public_key)
    [again] = read_checkpoints(export)
    assert again == checkpoint
    assert again.public_key == raw_public_key(SIGNER.public_key)


def test_a_malformed_export_names_its_line(tmp_path: Path) -> None:
    export = tmp_path / "bad.jsonl"
    export.write_text('\n{"seq": 1}\n')
    with pytest.raises(CheckpointError, match="line 2"):
        read_checkpoints(export)
    with pytest.raises(CheckpointError):
        Checkpoint.from_json('{"seq": true, "head_hash": "", "at_ms": 1, "key_id": "", "signature": ""}')


@pytest.mark.parametrize(
    ("head", "last", "last_at", "now", "due"),
    [
        (0, 0, 0.0, 1000.0, False),  # nothing to sign
        (5, 5, 0.0, 1000.0, False),  # an idle chain keeps its checkpoint
        (9_999, 0, 100.0, 159.0, False),
        (10_000, 0, 100.0, 101.0, True),  # every N records
        (10_001, 9_999, 100.0, 160.0, True),  # or T seconds
        (10_001, 9_999, 100.0, 159.9, False),
    ],
)
def test_a_checkpoint_is_due_every_n_records_or_t_seconds(
    head: int, last: int, last_at: float, now: float, due: bool
) -> None:
    assert CheckpointPolicy(every=10_000, seconds=60.0).due(head, last, last_at, now) is due


def test_write_if_due_follows_the_policy(engine: Engine) -> None:
    policy = CheckpointPolicy(every=10, seconds=60.0)
    write_chain(engine, 4)
    with engine.begin() as connection:
        first = SIGNER.write_if_due(connection, policy, NOW)  # never signed: due
        assert first is not None
        assert first.seq == 4
    with engine.begin() as connection:
        audit_chain().append(connection, [entry(i) for i in range(5)])
        assert SIGNER.write_if_due(connection, policy, NOW) is None  # 5 records, 0 s: not yet
    later = NOW.replace(minute=32)
    with engine.begin() as connection:
        assert SIGNER.write_if_due(connection, policy, later) is not None


# --- several writers ---------------------------------------------------------------------------------


def test_concurrent_writers_keep_one_linear_chain(engine: Engine) -> None:
    with engine.begin() as connection:
        audit_chain().create(connection)
    written = append_concurrently(engine)
    seqs = [row["seq"] for row in stored_rows(engine)]
    assert seqs == list(range(1, written + 1))
    report = check(engine)
    assert report.ok, report.problems()
    assert report.records == written
    assert report.checkpoints >= 1


def test_verify_beside_writers_sees_no_break(engine: Engine) -> None:
    with engine.begin() as connection:
        audit_chain().create(connection)
    writers = threading.Thread(target=append_concurrently, args=(engine, 2, 80, 3))
    writers.start()
    reports = []
    while writers.is_alive():  # bounded: the writers stop after their batches
        reports.append(check(engine))
    writers.join()
    reports.append(check(engine))
    assert all(report.ok for report in reports), [r.problems() for r in reports if not r.ok]
    assert reports[-1].records == 480


# --- settings and the command line ----------------------------------------------------------------------


def test_the_signing_key_comes_from_the_settings() -> None:
    configured = Settings(audit_signing_key=SecretStr(base64.b64encode(SEED).decode()))
    assert CheckpointSigner(configured.audit_private_key()).key_id == SIGNER.key_id
    development = Settings()
    assert CheckpointSigner(development.audit_private_key()).key_id != SIGNER.key_id
    keyed = {
        "master_keys": {"k1": SecretStr(base64.b64encode(bytes(32)).decode())},
        "pseudonym_key": SecretStr(base64.b64encode(bytes(32)).decode()),
    }
    assert Settings.model_validate(keyed).uses_development_key()
    assert not Settings.model_validate(
        {**keyed, "audit_signing_key": configured.audit_signing_key}
    ).uses_development_key()
    with pytest.raises(ConfigError, match="audit_signing_key"):
        Settings(audit_signing_key=SecretStr(base64.b64encode(bytes(31)).decode())).audit_private_key()


@pytest.fixture
def signing(settings: Settings) -> Settings:
    return settings.model_copy(update={"audit_signing_key": SecretStr(base64.b64encode(SEED).decode())})


@pytest.fixture
def logged(signing: Settings) -> Iterator[Engine]:
    engine = make_engine(signing.database_url.get_secret_value())
    metadata.create_all(engine)
    write_chain(engine)
    yield engine
    engine.dispose()


def run(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(audit, list(args), obj=settings)


def test_cli_verify_prints_counts_and_exits_0(signing: Settings, logged: Engine) -> None:
    result = run(signing, "verify")
    assert result.exit_code == 0, result.output
    assert "checked 50 records and 0 checkpoints in" in result.output
    assert "records/s" in result.output
    assert "ok: the chain is intact up to record 50" in result.output


def test_cli_verify_of_an_empty_log_says_it_is_empty_and_exits_0(signing: Settings) -> None:
    """A new deployment verifies fine, but says it verified nothing rather than "intact"."""
    result = run(signing, "verify")
    assert result.exit_code == 0, result.output
    assert "checked 0 records" in result.output
    assert "ok: the audit log is empty, nothing to verify yet" in result.output
    assert "intact" not in result.output


def test_cli_verify_names_the_first_broken_record_and_exits_1(signing: Settings, logged: Engine) -> None:
    change_field(logged, 23, kind="dossier.withdrawn")
    result = run(signing, "verify")
    assert result.exit_code == 1
    assert "BROKEN at record 23 (changed): record 23 was changed" in result.output


def test_cli_checkpoint_export_and_verify_against_the_export(
    signing: Settings, logged: Engine, tmp_path: Path
) -> None:
    signed = run(signing, "checkpoint")
    assert signed.exit_code == 0, signed.output
    assert Checkpoint.from_json(signed.output.strip()).seq == RECORDS
    assert "no new checkpoint" in run(signing, "checkpoint").output
    export = tmp_path / "exported.jsonl"
    exported = run(signing, "export-checkpoints", "--out", str(export))
    assert exported.exit_code == 0, exported.output
    assert f"exported 1 checkpoints to {export}" in exported.output
    rewrite_from(logged, 5, detail="rewritten")
    with logged.begin() as connection:
        connection.execute(delete(audit_checkpoints))
    assert run(signing, "verify").exit_code == 0
    result = run(signing, "verify", "--checkpoints", str(export))
    assert result.exit_code == 1
    assert "BROKEN at record 50 (rewritten): the chain was rewritten" in result.output


def test_cli_verify_trusts_only_the_given_public_keys(signing: Settings, logged: Engine) -> None:
    assert run(signing, "checkpoint").exit_code == 0
    stranger = base64.b64encode(raw_public_key(STRANGER.public_key)).decode()
    result = run(signing, "verify", "--public-key", stranger)
    assert result.exit_code == 1
    assert "BAD CHECKPOINT (unknown_key)" in result.output
    ours = base64.b64encode(raw_public_key(SIGNER.public_key)).decode()
    assert run(signing, "verify", "--public-key", stranger, "--public-key", ours).exit_code == 0
    assert run(signing, "verify", "--public-key", "not-base64!").exit_code == 2


def test_cli_warns_when_the_development_signing_key_is_in_use(settings: Settings) -> None:
    result = run(settings, "checkpoint")
    assert result.exit_code == 0, result.output
    assert "development key" in result.output
