"""``hub audit subject`` on the real PostgreSQL: the same story as on SQLite
(tests/unit/test_subject_access.py): each person's export holds exactly their dossiers and values, a
forgotten dossier shows as erased, every export is an audit entry and the chain still verifies."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from hub.settings import Settings
from tests.unit.test_subject_access import check_subject_access, people_play


def test_subject_access_on_postgresql(
    postgres_url: str, settings: Settings, embedded: str, tmp_path: Path
) -> None:
    on_postgres = settings.model_copy(update={"database_url": SecretStr(postgres_url)})
    people_play(on_postgres, embedded)
    check_subject_access(on_postgres, tmp_path)
