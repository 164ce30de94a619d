"""The checker against the reference implementations' own cases (tests/schemas/reference_cases.py).

Every reader/writer case must get the verdict its reference test gives, or, where the project
deliberately differs, the project's verdict, with the reason written next to it. The modes are
checked over schema histories: Confluent's, and one passing and one failing history of three or more
revisions for each mode.
"""

from __future__ import annotations

import decimal
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import fastavro
import pytest

from hub.schemas.compatibility import Mode, can_read, check
from hub.schemas.parsing import InvalidSchema
from tests.schemas.reference_cases import CASES, HISTORIES, Case, History, Verdict

MINIMUM_CASES = 100


def verdict(case: Case) -> tuple[Verdict, int]:
    """The checker's verdict on ``case`` and how many incompatibilities it found."""
    try:
        found = can_read(case.reader, case.writer)
    except InvalidSchema:
        return Verdict.INVALID, 0
    return (Verdict.INCOMPATIBLE if found else Verdict.COMPATIBLE), len(found)


def _id(case: Case) -> str:
    return f"{case.source}: {case.title}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_each_reference_case_gets_its_expected_verdict(case: Case) -> None:
    got, problems = verdict(case)
    assert got == case.expected, f"{_id(case)}: {got}, expected {case.expected}"
    if case.problems is not None and case.hub is None:
        assert problems == case.problems, can_read(case.reader, case.writer)


def test_every_deliberate_difference_says_why_and_really_differs() -> None:
    for case in CASES:
        assert (case.hub is None) == (case.why == ""), _id(case)
        assert case.hub != case.reference, _id(case)


def test_the_table_is_large_enough_and_its_counts_are_reported() -> None:
    differences = [c for c in CASES if c.hub is not None]
    by_cause = Counter(c.why.split(";")[0].split(":")[0] for c in differences)
    print(
        f"\nreference cases: {len(CASES)}, agreeing: {len(CASES) - len(differences)}, "
        f"deliberate differences: {len(differences)}"
    )
    for cause, count in by_cause.most_common():
        print(f"  {count} x {cause}")
    print(f"mode histories: {len(HISTORIES)}")
    assert len(CASES) >= MINIMUM_CASES, f"only {len(CASES)} reference cases, at least {MINIMUM_CASES} wanted"
    pairs = {(repr(c.reader), repr(c.writer), c.reference) for c in CASES}
    assert len(pairs) == len(CASES), "a pair is listed twice with the same reference verdict"


@pytest.mark.parametrize("history", HISTORIES, ids=[f"{h.source}: {h.mode}: {h.title}" for h in HISTORIES])
def test_each_mode_history_gets_its_expected_verdict(history: History) -> None:
    found = check(history.mode, history.new, list(history.previous))
    assert (found == []) == history.allowed, found


def test_every_mode_has_a_passing_and_a_failing_history_of_three_revisions_or_more() -> None:
    long_enough = [h for h in HISTORIES if len(h.previous) >= 2]
    for mode in Mode:
        outcomes = {h.allowed for h in long_enough if h.mode is mode}
        assert outcomes == ({True} if mode is Mode.NONE else {True, False}), mode


def test_a_transitive_mode_fails_where_its_plain_mode_passes() -> None:
    """The same history judged by both: only the transitive mode looks past the newest revision."""
    for plain, transitive in [
        (Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE),
        (Mode.FORWARD, Mode.FORWARD_TRANSITIVE),
        (Mode.FULL, Mode.FULL_TRANSITIVE),
    ]:
        failing = [h for h in HISTORIES if h.mode is transitive and not h.allowed and len(h.previous) >= 2]
        assert any(check(plain, h.new, list(h.previous)) == [] for h in failing), transitive


# --- compatible means fastavro, the hub's reader, really decodes --------------------------------------


class _NoDatum(Exception):
    """The writer schema has no finite value to write (an empty union, a record that always recurses)."""


def _data(schema: Any, names: dict[str, Any], depth: int = 0) -> list[Any]:
    """A value for each branch of ``schema`` (one for anything but a union)."""
    if depth > 8:
        raise _NoDatum
    if isinstance(schema, list):
        return [value for branch in schema for value in _data(branch, names, depth + 1)]
    if isinstance(schema, str):
        if schema in names:
            return _data(names[schema], names, depth + 1)
        return [_PRIMITIVE_VALUES[schema]]
    return [_complex(schema, names, depth)]


_PRIMITIVE_VALUES: dict[str, Any] = {
    "null": None, "boolean": True, "int": 7, "long": 7, "float": 1.5, "double": 1.5,
    "string": "x", "bytes": b"x",
}  # fmt: skip


def _complex(schema: dict[str, Any], names: dict[str, Any], depth: int) -> Any:
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        names[schema["name"]] = schema
    if schema.get("logicalType") == "decimal" and "precision" in schema:
        return decimal.Decimal(1).scaleb(-schema.get("scale", 0))
    values: dict[str, Callable[[], Any]] = {
        "record": lambda: {f["name"]: _data(f["type"], names, depth + 1)[-1] for f in schema["fields"]},
        "enum": lambda: schema["symbols"][-1],
        "fixed": lambda: b"\0" * schema["size"],
        "array": lambda: [_data(schema["items"], names, depth + 1)[-1]],
        "map": lambda: {"k": _data(schema["values"], names, depth + 1)[-1]},
    }
    return values[kind]() if kind in values else _data(kind, names, depth + 1)[-1]


def _fastavro_reads(case: Case) -> None:
    writer = fastavro.parse_schema(case.writer, named_schemas={})
    reader = fastavro.parse_schema(case.reader, named_schemas={})
    for datum in _data(case.writer, {}):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, writer, datum)
        buffer.seek(0)
        fastavro.schemaless_reader(buffer, writer, reader)


_FASTAVRO_STRICTER = pytest.mark.xfail(
    strict=True,
    reason="fastavro refuses (or fails reading) an invalid decimal the specification says to ignore; "
    "the catalogue's gate refuses it too",
)
COMPATIBLE = [
    pytest.param(c, id=_id(c), marks=[_FASTAVRO_STRICTER] if "LOGICAL_TYPE: decimal" in c.source else [])
    for c in CASES
    if c.expected is Verdict.COMPATIBLE
]


@pytest.mark.parametrize("case", COMPATIBLE)
def test_a_compatible_case_really_decodes_with_fastavro(case: Case) -> None:
    try:
        _fastavro_reads(case)
    except _NoDatum:
        pytest.skip("the writer schema has no finite value")
