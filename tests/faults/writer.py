"""A process that writes audit batches to a SQLite file until it is killed: ``python -m
tests.faults.writer PATH``. It prints each committed head sequence number, so a test can kill it
while it writes."""

from __future__ import annotations

import sys

from pydantic import SecretStr

from hub.app import open_store
from hub.settings import Settings
from tests.unit.test_audit_chain import entry

BATCH = 50


def main(path: str) -> None:
    settings = Settings(database_url=SecretStr(f"sqlite:///{path}"))
    ledger = open_store(settings.database_url.get_secret_value(), settings)
    written = 0
    while True:
        batch = [entry(i, {"ChuHoSo": f"Canary {i}"}) for i in range(written, written + BATCH)]
        ledger.record([], [], batch)
        written += BATCH
        print(written, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
