"""Verifying the audit log: the hash chain row by row, then the signed checkpoints against it.

``verify`` reads ``audit_log`` in sequence order, ``BATCH`` rows per query (keyset pages, so memory
stays flat and writers are never blocked), and stops at the first break, which it names by
sequence number and kind. How each kind of tampering shows up:

=====================================  =============  ==========================================
tampering                               kind           record named
=====================================  =============  ==========================================
one field of one record changed         ``changed``    that record: its hash no longer covers it
a record deleted                        ``missing``    the deleted one: the gap in the numbers
a record deleted, the rest renumbered   ``missing``    the deleted one: the next row's hash covers
                                                       its old number
a record inserted, the rest renumbered  ``inserted``   the inserted one: the row after it hashes
                                                       under its old number
two neighbours swapped                  ``swapped``    the first of the two
two records apart swapped               ``swapped``    the first (the rest is searched for the
                                                       other; ``moved`` if it is not a swap)
a record rewritten with its own hash    ``unlinked``   the next record, whose ``prev_hash`` still
recomputed                                             names the original
the tail deleted                        ``truncated``  the first record gone: a checkpoint, or
                                                       ``audit_head``, is beyond the last row
the whole chain rewritten consistently  ``rewritten``  the first checkpoint whose hash differs
                                                       (the change lies after the checkpoint
                                                       before it)
rows appended behind the head's back    ``appended``   the first record beyond ``audit_head``
=====================================  =============  ==========================================

Limits: a consistent rewrite or a truncation that also resets ``audit_head`` is visible only
against a checkpoint signed before it; an exported checkpoint file (``external_checkpoints``)
still catches it when the table of checkpoints was rewritten too. A checkpoint whose signature does
not verify under a trusted public key is reported (``bad_signature``, ``unknown_key``) and not used.

Several writers may append while this runs: the head is read before and after the walk, and only
rows beyond the later head count as appended behind its back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, select

from hub.audit.chain import GENESIS, audit_log, current_head, row_hash
from hub.audit.checkpoints import Checkpoint, key_id, stored_checkpoints

BATCH = 5_000

Kind = Literal[
    "changed",
    "missing",
    "inserted",
    "swapped",
    "moved",
    "replaced",
    "unlinked",
    "rewritten",
    "truncated",
    "appended",
    "bad_signature",
    "unknown_key",
]
Row = Mapping[Any, Any]  # a RowMapping, or a dict with one value changed


@dataclass(frozen=True)
class Break:
    seq: int  # the first record (or, for a bad checkpoint, the checkpoint) concerned
    kind: Kind
    message: str


@dataclass(frozen=True)
class VerifyReport:
    records: int  # rows read
    last_seq: int  # the last record that verified
    checkpoints: int  # checkpoints whose signature verified, hence used
    seconds: float
    broken: Break | None = None  # the first broken record
    bad_checkpoints: tuple[Break, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken is None and not self.bad_checkpoints

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def problems(self) -> list[Break]:
        return ([] if self.broken is None else [self.broken]) + list(self.bad_checkpoints)


def verify(
    engine: Engine,
    public_keys: Iterable[Ed25519PublicKey],
    external_checkpoints: Iterable[Checkpoint] = (),
    batch: int = BATCH,
) -> VerifyReport:
    """Check the chain and every checkpoint (stored, and ``external_checkpoints`` from an export)
    signed by one of ``public_keys``; the first broken record, if any, and counts."""
    started = time.perf_counter()
    with engine.connect() as connection:
        # Same checkpoint in the table and the export: checked once.
        checkpoints = list(dict.fromkeys([*stored_checkpoints(connection), *external_checkpoints]))
        trusted, bad = _authentic(checkpoints, public_keys)
        walk = _Walk(trusted, current_head(connection))
        # The head is read again after the walk: rows writers appended meanwhile are below it.
        broken = walk.run(_stream(connection, batch)) or walk.finish(current_head(connection)[0])
    return VerifyReport(
        records=walk.records,
        last_seq=walk.last_seq,
        checkpoints=len(trusted),
        seconds=time.perf_counter() - started,
        broken=broken,
        bad_checkpoints=tuple(bad),
    )


def _stream(connection: Connection, batch: int) -> Iterator[Row]:
    """Every row in sequence order, ``batch`` per query, each page after the last one's seq."""
    query = select(audit_log).order_by(audit_log.c.seq).limit(batch)
    page = connection.execute(query).mappings().all()
    while page:
        yield from page
        if len(page) < batch:
            return
        page = connection.execute(query.where(audit_log.c.seq > page[-1]["seq"])).mappings().all()


def _authentic(
    checkpoints: list[Checkpoint], public_keys: Iterable[Ed25519PublicKey]
) -> tuple[list[Checkpoint], list[Break]]:
    known = {key_id(key): key for key in public_keys}
    trusted, bad = [], []
    for checkpoint in checkpoints:
        key = known.get(checkpoint.key_id)
        where = f"checkpoint at record {checkpoint.seq} (signed at {checkpoint.signed_at})"
        if key is None:
            message = f"{where} names key {checkpoint.key_id}, which is not a trusted public key"
            bad.append(Break(checkpoint.seq, "unknown_key", message))
        elif not checkpoint.verifies(key):
            message = f"{where} has a signature that does not verify: forged or altered"
            bad.append(Break(checkpoint.seq, "bad_signature", message))
        else:
            trusted.append(checkpoint)
    return trusted, bad


class _Walk:
    """The chain check, one row at a time; stops at the first break."""

    def __init__(self, checkpoints: list[Checkpoint], head: tuple[int, str]) -> None:
        self._checkpoints: dict[int, list[Checkpoint]] = defaultdict(list)
        for checkpoint in checkpoints:
            self._checkpoints[checkpoint.seq].append(checkpoint)
        self._head = head
        self._previous_hash = GENESIS
        self._last_agreed = 0  # the last record a checkpoint confirmed
        self.records = 0
        self.last_seq = 0

    def run(self, rows: Iterator[Row]) -> Break | None:
        for row in rows:
            self.records += 1
            problem = self._check(row, rows)
            if problem is not None:
                return problem
            self.last_seq, self._previous_hash = row["seq"], row["hash"]
        return None

    def finish(self, head_seq_now: int) -> Break | None:
        """After the last row: is anything known to exist beyond it, or is it beyond the head?"""
        last = self.last_seq
        beyond = [c for seq, found in self._checkpoints.items() if seq > last for c in found]
        if beyond:
            latest = max(beyond, key=lambda c: c.seq)
            message = (
                f"the chain was truncated after record {last}: "
                f"the checkpoint signed at {latest.signed_at} covers records up to {latest.seq}"
            )
            return Break(last + 1, "truncated", message)
        if self._head[0] > last:
            message = f"the chain was truncated after record {last}: audit_head is at record {self._head[0]}"
            return Break(last + 1, "truncated", message)
        if last > head_seq_now:
            message = (
                f"records {head_seq_now + 1} to {last} lie beyond audit_head (record {head_seq_now}): "
                "appended behind its back, or the head was moved back"
            )
            return Break(head_seq_now + 1, "appended", message)
        return None

    def _check(self, row: Row, rows: Iterator[Row]) -> Break | None:
        seq, expected = row["seq"], self.last_seq + 1
        if seq != expected:
            return _misnumbered(seq, expected)
        linked = row["prev_hash"] == self._previous_hash
        if row_hash(row) != row["hash"]:
            return self._diagnose(row, linked, rows)
        if not linked:
            message = (
                f"record {seq} does not link to record {seq - 1}: record {seq - 1} was rewritten with "
                f"its hash recomputed, or records before {seq} were removed and the rest rehashed"
            )
            return Break(seq, "unlinked", message)
        return self._against_checkpoints(seq, row["hash"]) or self._against_head(seq, row["hash"])

    def _diagnose(self, row: Row, linked: bool, rows: Iterator[Row]) -> Break:
        """Why a row's hash does not cover it: the hash tells which number it was written under."""
        seq = row["seq"]
        if _hashes_as(row, seq + 1):
            following = next(rows, None)
            if following is not None and _hashes_as(following, seq):
                return Break(seq, "swapped", f"records {seq} and {seq + 1} were swapped")
            message = (
                f"record {seq} is missing: the records after it were renumbered "
                f"(record {seq} was record {seq + 1})"
            )
            return Break(seq, "missing", message)
        if seq > 1 and _hashes_as(row, seq - 1):
            # The row before verified, so it is the newcomer: this one was written under its number.
            message = (
                f"record {seq - 1} was inserted: the records after it were renumbered "
                f"(record {seq} was record {seq - 1})"
            )
            return Break(seq - 1, "inserted", message)
        if linked or row_hash({**row, "prev_hash": self._previous_hash}) == row["hash"]:
            return Break(seq, "changed", f"record {seq} was changed: its hash does not match its contents")
        return _moved(row, rows)

    def _against_checkpoints(self, seq: int, row_hash_value: str) -> Break | None:
        found = self._checkpoints.get(seq, [])
        for checkpoint in found:
            if checkpoint.head_hash != row_hash_value:
                message = (
                    f"the chain was rewritten: record {seq} differs from the checkpoint signed at "
                    f"{checkpoint.signed_at} (the change is in records {self._last_agreed + 1} to {seq})"
                )
                return Break(seq, "rewritten", message)
        if found:
            self._last_agreed = seq
        return None

    def _against_head(self, seq: int, row_hash_value: str) -> Break | None:
        head_seq, head_hash = self._head
        if seq != head_seq or row_hash_value == head_hash:
            return None
        message = f"the chain or its head was rewritten: record {seq} differs from audit_head"
        return Break(seq, "rewritten", message)


def _misnumbered(seq: int, expected: int) -> Break:
    if seq < expected:  # rows come sorted by a unique seq: only a number below 1 gets here
        return Break(seq, "inserted", f"record {seq} was inserted: records are numbered from 1")
    if seq == expected + 1:
        return Break(expected, "missing", f"record {expected} is missing")
    return Break(expected, "missing", f"records {expected} to {seq - 1} are missing")


def _moved(row: Row, rows: Iterator[Row]) -> Break:
    """Neither hash nor link fit: look further on for the row written under this number (the walk
    stops here anyway, so this costs at most the rest of a walk)."""
    seq = row["seq"]
    origin = next((other["seq"] for other in rows if _hashes_as(other, seq)), None)
    if origin is None:
        message = (
            f"record {seq} was replaced: neither its contents nor its link to record {seq - 1} "
            "match its hashes"
        )
        return Break(seq, "replaced", message)
    if _hashes_as(row, origin):
        return Break(seq, "swapped", f"records {seq} and {origin} were swapped")
    return Break(seq, "moved", f"record {seq} was moved to {origin} and replaced by another")


def _hashes_as(row: Row, seq: int) -> bool:
    """Whether ``row``'s stored hash covers it under sequence number ``seq``."""
    return row_hash({**row, "seq": seq}) == str(row["hash"])
