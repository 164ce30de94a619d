"""docs/privacy.md stays in step with the code: its table of personal data lists exactly the fields the
contract marks as personal (the pydantic models' and the Avro catalogue's markings), each with the
messages that carry it."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from hub import app
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry

PRIVACY = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
HEADER = "| field | category | whose | carried in |"
CODE = re.compile(r"`([^`]+)`")


def declared() -> dict[str, set[str]]:
    """Each personal path marked in the code -> the messages (or canonical records) that carry it."""
    carriers: dict[str, set[str]] = defaultdict(set)
    for message, paths in app.personal_catalogue(Registry.load(CATALOGUE)).declared().items():
        for path in paths:
            carriers[path].add(message)
    return dict(carriers)


def documented() -> dict[str, set[str]]:
    """The rows of the personal-data table: field -> the messages its last column names."""
    lines = PRIVACY.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2  # after the header and its rule
    rows: dict[str, set[str]] = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        (field,) = CODE.findall(cells[0])
        assert field not in rows, f"{field} listed twice"
        rows[field] = set(CODE.findall(cells[-1]))
    return rows


def test_the_privacy_table_lists_every_personal_field_and_its_messages() -> None:
    code, docs = declared(), documented()
    assert sorted(set(code) - set(docs)) == [], "marked personal in the code, missing from docs/privacy.md"
    assert sorted(set(docs) - set(code)) == [], "in docs/privacy.md, no longer marked personal in the code"
    wrong = {field: (docs[field], code[field]) for field in code if docs[field] != code[field]}
    assert wrong == {}, "(documented, declared) messages differ"


def test_each_row_names_a_category_and_whose_data_it_is() -> None:
    lines = PRIVACY.read_text(encoding="utf-8").splitlines()
    rows = lines[lines.index(HEADER) + 2 :]
    for line in rows[: len(documented())]:
        category, whose = (cell.strip() for cell in line.strip("|").split("|")[1:3])
        assert category, line
        assert whose, line
