"""The audit queries on the real PostgreSQL, and the PII canary absent from a dump of it."""

from __future__ import annotations

import psycopg
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy import func, select

from hub.audit.chain import audit_log, row_hash
from hub.audit.query import FORGOTTEN, export, vietnam_time
from hub.settings import Settings
from tests.unit.test_audit_queries import (
    CANARIES,
    CANARY_ID,
    ONLINE,
    engine_of,
    invoke,
    json_lines,
    play,
)


def dump(url: str) -> bytes:
    """Every row of every table of the database, as ``pg_dump`` writes its data (COPY ... TO STDOUT,
    text format), with no client tool to install or to match the server's version."""
    chunks: list[bytes] = []
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            chunks.append(f"COPY {schema}.{table}\n".encode())
            statement = sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(schema, table))
            with connection.cursor().copy(statement) as copy:
                chunks.extend(bytes(data) for data in copy)
    return b"".join(chunks)


def test_trail_search_export_and_forget_on_postgresql_and_no_canary_in_the_dump(
    postgres_url: str, settings: Settings, embedded: str
) -> None:
    on_postgres = settings.model_copy(update={"database_url": SecretStr(postgres_url)})
    play(on_postgres, embedded)

    masked = invoke(on_postgres, "trail", ONLINE, "--json")
    revealed = invoke(on_postgres, "trail", ONLINE, "--reveal", "--json")
    assert masked.exit_code == revealed.exit_code == 0
    assert not any(canary in masked.stdout for canary in CANARIES)
    assert all(canary in revealed.stdout for canary in CANARIES)
    assert ONLINE in invoke(on_postgres, "search", "--citizen-id", CANARY_ID).stdout

    engine = engine_of(on_postgres)
    with engine.connect() as connection:
        last_ms, count = connection.execute(select(func.max(audit_log.c.recorded_at_ms), func.count())).one()
    rows = list(export(engine, vietnam_time(0), vietnam_time(last_ms + 1)))
    assert len(rows) == count
    assert all(row_hash(row) == row["hash"] for row in rows)  # bytea reads back as it was hashed
    engine.dispose()

    dumped = dump(postgres_url)
    assert b"COPY public.audit_log" in dumped
    assert ONLINE.encode() in dumped  # the dump reads the rows: a dossier code is in the clear
    for canary in CANARIES:
        assert canary.encode() not in dumped

    assert invoke(on_postgres, "forget", ONLINE).exit_code == 0
    after = json_lines(invoke(on_postgres, "trail", ONLINE, "--reveal", "--json").stdout)
    assert after[0]["payload"]["ChuHoSo"] == FORGOTTEN
