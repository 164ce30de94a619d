"""reliability.md 13: the process writing SQLite is killed mid-write. The database passes SQLite's
integrity check and the audit chain verifies, ending at the last committed batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from hub.audit.verify import verify
from hub.settings import Settings
from hub.store.database import make_engine

ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER = 2_000  # entries committed before the kill: the writer is in the middle of its work


def test_a_writer_killed_mid_write_leaves_a_sound_database_and_an_intact_chain(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.writer", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.stdout is not None
    try:
        committed = 0
        for line in writer.stdout:  # each line: a batch committed
            committed = int(line)
            if committed >= KILL_AFTER:
                break
        writer.send_signal(signal.SIGKILL)  # the next batch is being written right now
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert committed >= KILL_AFTER
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    public_key = Settings().audit_private_key().public_key()
    report = verify(engine, [public_key])
    assert report.ok, report.problems()
    assert report.last_seq >= committed  # nothing committed was lost; a batch after it may be too
