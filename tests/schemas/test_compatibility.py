"""Schema compatibility: a matrix of small schema changes, each with its verdict, path and rule.

Each case is one explicit pair (or chain) of record schemas. A failing case names the field path the
checker must report and a substring of the rule; a passing case must report nothing. Compatible
pairs are also read back through fastavro, so "compatible" means an Avro implementation really
decodes the old data with the new schema (or the other way round).
"""

from __future__ import annotations

import decimal
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import ConfigError
from hub.schemas.compatibility import Incompatibility, Mode, Schema, can_read, check
from hub.schemas.parsing import InvalidSchema

NS = "hub.test.v1"


def record(name: str, *fields: dict[str, Any], namespace: str = NS, **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "fields": list(fields), **extra}


def fld(name: str, type_: Schema, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def status(*symbols: str, **extra: Any) -> dict[str, Any]:
    return record("Dossier", fld("id", "string"), fld("status", enum("Status", *symbols, **extra)))


def with_field(type_: Schema, **extra: Any) -> dict[str, Any]:
    return record("Dossier", fld("id", "string"), fld("value", type_, **extra))


def address(*extra_fields: dict[str, Any]) -> dict[str, Any]:
    street = fld("street", "string")
    return record("Submitted", fld("id", "string"), fld("DiaChi", record("Address", street, *extra_fields)))


V1 = record("Dossier", fld("id", "string"))
V1_WITH_B = record("Dossier", fld("id", "string"), fld("b", "int"))
V1_WITH_B_DEFAULT = record("Dossier", fld("id", "string"), fld("b", "int", default=0))
NULL_STRING: list[Any] = ["null", "string"]
NULL_STRING_INT: list[Any] = ["null", "string", "int"]


@dataclass(frozen=True)
class Case:
    """``new`` following ``old`` under ``mode``: ``path`` and ``rule`` of the failure, None if allowed."""

    id: str
    mode: Mode
    old: Schema
    new: Schema
    path: str | None = None
    rule: str = ""


CASES = [
    Case("add field with default, backward", Mode.BACKWARD, V1, V1_WITH_B_DEFAULT),
    Case("add field with default, forward", Mode.FORWARD, V1, V1_WITH_B_DEFAULT),
    Case("add field with default, full", Mode.FULL, V1, V1_WITH_B_DEFAULT),
    Case(
        "add field without default, backward", Mode.BACKWARD, V1, V1_WITH_B, "Dossier.b", "without a default"
    ),
    Case("add field without default, forward", Mode.FORWARD, V1, V1_WITH_B),
    Case("add field without default, full", Mode.FULL, V1, V1_WITH_B, "Dossier.b", "in the new schema"),
    Case("remove field, backward", Mode.BACKWARD, V1_WITH_B, V1),
    Case(
        "remove field without default, forward", Mode.FORWARD, V1_WITH_B, V1, "Dossier.b", "without a default"
    ),
    Case(
        "remove field without default, full", Mode.FULL, V1_WITH_B, V1, "Dossier.b", "previous version 1 of 1"
    ),
    Case("remove field that had a default, forward", Mode.FORWARD, V1_WITH_B_DEFAULT, V1),
    Case("remove field that had a default, full", Mode.FULL, V1_WITH_B_DEFAULT, V1),
    Case(
        "rename field with alias, backward",
        Mode.BACKWARD,
        record("Dossier", fld("name", "string")),
        record("Dossier", fld("fullName", "string", aliases=["name"])),
    ),
    Case(
        "rename field without alias, backward",
        Mode.BACKWARD,
        record("Dossier", fld("name", "string")),
        record("Dossier", fld("fullName", "string")),
        "Dossier.fullName",
        "field 'fullName' is in the new schema without a default",
    ),
    Case(
        "rename field with alias, forward (the old reader knows no alias)",
        Mode.FORWARD,
        record("Dossier", fld("name", "string")),
        record("Dossier", fld("fullName", "string", aliases=["name"])),
        "Dossier.name",
        "field 'name'",
    ),
    Case(
        "rename field with alias, type checked through the alias",
        Mode.BACKWARD,
        record("Dossier", fld("name", "string")),
        record("Dossier", fld("fullName", "int", aliases=["name"])),
        "Dossier.fullName",
        "'string' where the new schema has 'int'",
    ),
    Case("enum symbol added, backward", Mode.BACKWARD, status("A", "B"), status("A", "B", "C")),
    Case(
        "enum symbol added, forward",
        Mode.FORWARD,
        status("A", "B"),
        status("A", "B", "C"),
        "Dossier.status",
        "symbol 'C' of enum 'hub.test.v1.Status'",
    ),
    Case(
        "enum symbol added, forward, old reader has an enum default",
        Mode.FORWARD,
        status("A", "B", default="A"),
        status("A", "B", "C", default="A"),
    ),
    Case(
        "enum symbol removed, backward",
        Mode.BACKWARD,
        status("A", "B", "C"),
        status("A", "B"),
        "Dossier.status",
        "symbol 'C'",
    ),
    Case(
        "enum symbol removed, backward, new has an enum default",
        Mode.BACKWARD,
        status("A", "B", "C"),
        status("A", "B", default="A"),
    ),
    Case("enum symbol removed, forward", Mode.FORWARD, status("A", "B", "C"), status("A", "B")),
    Case("int to long, backward", Mode.BACKWARD, with_field("int"), with_field("long")),
    Case(
        "int to long, forward",
        Mode.FORWARD,
        with_field("int"),
        with_field("long"),
        "Dossier.value",
        "the new schema has 'long' where previous version 1 of 1 has 'int'",
    ),
    Case("float to double, backward", Mode.BACKWARD, with_field("float"), with_field("double")),
    Case(
        "float to double, forward",
        Mode.FORWARD,
        with_field("float"),
        with_field("double"),
        "Dossier.value",
        "'double'",
    ),
    Case("int to double, backward", Mode.BACKWARD, with_field("int"), with_field("double")),
    Case("long to float, backward", Mode.BACKWARD, with_field("long"), with_field("float")),
    Case("string to bytes, full", Mode.FULL, with_field("string"), with_field("bytes")),
    Case(
        "long to int, backward",
        Mode.BACKWARD,
        with_field("long"),
        with_field("int"),
        "Dossier.value",
        "promotion",
    ),
    Case(
        "string to int, backward",
        Mode.BACKWARD,
        with_field("string"),
        with_field("int"),
        "Dossier.value",
        "'int'",
    ),
    Case("union widened, backward", Mode.BACKWARD, with_field(NULL_STRING), with_field(NULL_STRING_INT)),
    Case(
        "union widened, forward",
        Mode.FORWARD,
        with_field(NULL_STRING),
        with_field(NULL_STRING_INT),
        "Dossier.value",
        "the new schema writes 'int', which no branch of the union in previous version 1 of 1",
    ),
    Case(
        "union narrowed, backward",
        Mode.BACKWARD,
        with_field(NULL_STRING_INT),
        with_field(NULL_STRING),
        "Dossier.value",
        "previous version 1 of 1 writes 'int'",
    ),
    Case("union narrowed, forward", Mode.FORWARD, with_field(NULL_STRING_INT), with_field(NULL_STRING)),
    Case("type made optional, backward", Mode.BACKWARD, with_field("string"), with_field(NULL_STRING)),
    Case(
        "type made optional, forward",
        Mode.FORWARD,
        with_field("string"),
        with_field(NULL_STRING),
        "Dossier.value",
        "the new schema has 'null' where previous version 1 of 1 has 'string'",
    ),
    Case(
        "union branch promoted, backward",
        Mode.BACKWARD,
        with_field(["null", "int"]),
        with_field(["null", "long"]),
    ),
    Case(
        "nested field added without default, backward",
        Mode.BACKWARD,
        address(),
        address(fld("hoVaTen", "string")),
        "Submitted.DiaChi.hoVaTen",
        "field 'hoVaTen' is in the new schema without a default",
    ),
    Case(
        "nested field added with default, full",
        Mode.FULL,
        address(),
        address(fld("hoVaTen", "string", default="")),
    ),
    Case(
        "field added inside array items, backward",
        Mode.BACKWARD,
        with_field({"type": "array", "items": record("Item", fld("a", "int"))}),
        with_field({"type": "array", "items": record("Item", fld("a", "int"), fld("b", "int"))}),
        "Dossier.value[].b",
        "field 'b'",
    ),
    Case(
        "map values changed, backward",
        Mode.BACKWARD,
        with_field({"type": "map", "values": "string"}),
        with_field({"type": "map", "values": "int"}),
        "Dossier.value{}",
        "'int'",
    ),
    Case(
        "map values promoted, backward",
        Mode.BACKWARD,
        with_field({"type": "map", "values": "int"}),
        with_field({"type": "map", "values": "long"}),
    ),
    Case(
        "array became map, backward",
        Mode.BACKWARD,
        with_field({"type": "array", "items": "int"}),
        with_field({"type": "map", "values": "int"}),
        "Dossier.value",
        "an array where the new schema has a map",
    ),
    Case(
        "fixed size changed, backward",
        Mode.BACKWARD,
        with_field({"type": "fixed", "name": "Hash", "size": 16}),
        with_field({"type": "fixed", "name": "Hash", "size": 32}),
        "Dossier.value",
        "size 16 in previous version 1 of 1 but 32 in the new schema",
    ),
    Case(
        "namespace moved without alias, backward (names match unqualified)",
        Mode.BACKWARD,
        record("Dossier", fld("id", "string"), namespace="hub.test.v1"),
        record("Dossier", fld("id", "string"), namespace="hub.test.v2"),
    ),
    Case(
        "namespace moved with alias naming the old full name, backward",
        Mode.BACKWARD,
        record("Dossier", fld("id", "string"), namespace="hub.test.v1"),
        record("Dossier", fld("id", "string"), namespace="hub.test.v2", aliases=["hub.test.v1.Dossier"]),
    ),
    Case(
        "nested type's namespace moved without alias, full",
        Mode.FULL,
        with_field(record("Address", fld("street", "string"), namespace="hub.common.v1")),
        with_field(record("Address", fld("street", "string"), namespace="hub.common.v2")),
    ),
    Case(
        "renamed and moved, with an unqualified alias (it takes the new namespace), backward",
        Mode.BACKWARD,
        record("Person", fld("id", "string"), namespace="hub.test.v1"),
        record("Citizen", fld("id", "string"), namespace="hub.test.v2", aliases=["Person"]),
        "Citizen",
        "aliases do not name 'hub.test.v1.Person'",
    ),
    Case(
        "renamed and moved, with an alias naming the old full name, backward",
        Mode.BACKWARD,
        record("Person", fld("id", "string"), namespace="hub.test.v1"),
        record("Citizen", fld("id", "string"), namespace="hub.test.v2", aliases=["hub.test.v1.Person"]),
    ),
    Case(
        "decimal scale changed, backward",
        Mode.BACKWARD,
        with_field({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
        with_field({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}),
        "Dossier.value",
        "'bytes' is decimal(9, 2) in previous version 1 of 1 but decimal(9, 3) in the new schema",
    ),
    Case(
        "decimal precision changed on a fixed, forward",
        Mode.FORWARD,
        with_field({"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 12}),
        with_field({"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 14}),
        "Dossier.value",
        "fixed 'hub.test.v1.Amount' is decimal(14, 0) in the new schema but decimal(12, 0)",
    ),
    Case(
        "decimal added to plain bytes, full (only one side declares it)",
        Mode.FULL,
        with_field("bytes"),
        with_field({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
    ),
    Case(
        "decimal without scale reads scale 0, full",
        Mode.FULL,
        with_field({"type": "bytes", "logicalType": "decimal", "precision": 9}),
        with_field({"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 0}),
    ),
    Case(
        "record renamed with an unqualified alias, backward",
        Mode.BACKWARD,
        record("Person", fld("id", "string")),
        record("Citizen", fld("id", "string"), aliases=["Person"]),
    ),
    Case(
        "record renamed without alias, backward",
        Mode.BACKWARD,
        record("Person", fld("id", "string")),
        record("Citizen", fld("id", "string")),
        "Citizen",
        "aliases do not name 'hub.test.v1.Person'",
    ),
    Case(
        "enum renamed with alias, backward",
        Mode.BACKWARD,
        with_field(enum("Status", "A")),
        with_field(enum("State", "A", aliases=["Status"])),
    ),
    Case("anything goes under NONE", Mode.NONE, with_field("string"), with_field("int")),
]


def _run(case: Case) -> list[Incompatibility]:
    return check(case.mode, case.new, [case.old])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compatibility_matrix(case: Case) -> None:
    found = _run(case)
    if case.path is None:
        assert found == []
        return
    assert [i.path for i in found] == [case.path], found
    assert case.rule in found[0].rule


def _datum(schema: Schema) -> Any:
    """A small valid datum for the matrix's writer schemas (only the shapes used there)."""
    if isinstance(schema, list):
        return _datum(schema[-1])
    if isinstance(schema, str):
        return {"null": None, "int": 7, "long": 7, "float": 1.5, "double": 1.5, "string": "x", "bytes": b"x"}[
            schema
        ]
    return _complex_datum(schema)


def _complex_datum(schema: dict[str, Any]) -> Any:
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: _datum(f["type"]) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "array":
        return [_datum(schema["items"])]
    if kind == "map":
        return {"k": _datum(schema["values"])}
    if schema.get("logicalType") == "decimal":
        return decimal.Decimal(1)
    return b"\0" * schema["size"]


def _decodes(reader: Schema, writer: Schema) -> None:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer, named_schemas={}), _datum(writer))
    buffer.seek(0)
    parsed_reader = fastavro.parse_schema(reader, named_schemas={})
    parsed_writer = fastavro.parse_schema(writer, named_schemas={})
    fastavro.schemaless_reader(buffer, parsed_writer, parsed_reader)


ALLOWED = [c for c in CASES if c.path is None and c.mode is not Mode.NONE]


@pytest.mark.parametrize("case", ALLOWED, ids=[c.id for c in ALLOWED])
def test_allowed_changes_really_decode(case: Case) -> None:
    if case.mode in (Mode.BACKWARD, Mode.FULL):
        _decodes(case.new, case.old)
    if case.mode in (Mode.FORWARD, Mode.FULL):
        _decodes(case.old, case.new)


def test_can_read_names_reader_and_writer_and_the_top_level_record() -> None:
    found = can_read(V1_WITH_B, V1)
    assert found == [
        Incompatibility(
            "hub.test.v1.Dossier",
            "Dossier.b",
            "field 'b' is in the reader's schema without a default but not in the writer's schema: "
            "data written with the writer's schema has no value for it",
        )
    ]
    assert str(found[0]).startswith("Dossier.b: field 'b'")


def test_every_problem_is_reported_not_only_the_first() -> None:
    new = record("Dossier", fld("id", "int"), fld("b", "int"), fld("c", "string"))
    found = check(Mode.BACKWARD, new, [V1])
    assert [i.path for i in found] == ["Dossier.id", "Dossier.b", "Dossier.c"]


# --- transitive modes ----------------------------------------------------------------------------

CHAIN_V1 = V1
CHAIN_V2 = V1_WITH_B_DEFAULT
CHAIN_V3 = V1_WITH_B  # the default is dropped: v3 reads v2's data (it has b), not v1's


def test_non_transitive_modes_compare_with_the_newest_previous_version_only() -> None:
    assert check(Mode.BACKWARD, CHAIN_V3, [CHAIN_V1, CHAIN_V2]) == []


def test_transitive_modes_compare_with_every_previous_version_and_name_it() -> None:
    found = check(Mode.BACKWARD_TRANSITIVE, CHAIN_V3, [CHAIN_V1, CHAIN_V2])
    assert [i.path for i in found] == ["Dossier.b"]
    assert "previous version 1 of 2" in found[0].rule


def test_full_transitive_checks_both_directions_against_every_version() -> None:
    v1 = record("Dossier", fld("id", "string"), fld("c", "int"))
    v2 = record("Dossier", fld("id", "string"), fld("c", "int", default=0))
    v3 = record("Dossier", fld("id", "string"))  # drops c: v2 defaulted it, v1 did not
    assert check(Mode.FULL, v3, [v1, v2]) == []
    found = check(Mode.FULL_TRANSITIVE, v3, [v1, v2])
    assert [(i.path, "previous version 1 of 2" in i.rule) for i in found] == [("Dossier.c", True)]
    assert check(Mode.FORWARD_TRANSITIVE, v3, [v1, v2]) == found


def test_no_previous_version_means_nothing_to_break() -> None:
    for mode in Mode:
        assert check(mode, V1_WITH_B, []) == []


def test_full_needs_both_directions() -> None:
    assert check(Mode.BACKWARD, V1, [V1_WITH_B]) == []
    assert check(Mode.FORWARD, V1_WITH_B, [V1]) == []
    assert [i.path for i in check(Mode.FULL, V1, [V1_WITH_B])] == ["Dossier.b"]
    assert [i.path for i in check(Mode.FULL, V1_WITH_B, [V1])] == ["Dossier.b"]
    assert check(Mode.FULL, V1_WITH_B_DEFAULT, [V1]) == []


# --- names, references, recursion ----------------------------------------------------------------

HEADER = record("EventHeader", fld("event_id", "string"), namespace="hub.common.v1")


def test_named_types_are_resolved_by_reference_with_namespaces() -> None:
    inline_then_reference = record(
        "Dossier",
        fld("header", HEADER),
        fld("previous", ["null", "hub.common.v1.EventHeader"]),
        fld("kind", enum("Kind", "A")),
        fld("other_kind", "Kind"),  # no dot: the enclosing namespace, hub.test.v1
    )
    assert can_read(inline_then_reference, inline_then_reference) == []
    changed = record(
        "Dossier",
        fld(
            "header",
            record("EventHeader", fld("event_id", "string"), fld("at", "long"), namespace="hub.common.v1"),
        ),
        fld("previous", ["null", "hub.common.v1.EventHeader"]),
        fld("kind", enum("Kind", "A")),
        fld("other_kind", "Kind"),
    )
    found = check(Mode.BACKWARD, changed, [inline_then_reference])
    assert [i.path for i in found] == ["Dossier.header.at", "Dossier.previous.at"]


def test_a_name_is_qualified_with_the_enclosing_definitions_namespace() -> None:
    inner = record("Inner", fld("x", "int"), namespace="hub.other.v1")
    outer = record(
        "Outer", fld("inner", inner), fld("again", "Inner")
    )  # no dot: hub.test.v1.Inner, undefined
    with pytest.raises(ConfigError, match="unknown type 'Inner'"):
        can_read(outer, outer)
    nested = record(
        "Outer", fld("inner", record("Inner", fld("self", ["null", "Inner"]), namespace="hub.other.v1"))
    )
    assert can_read(nested, nested) == []


def test_invalid_schemas_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown type 'Missing'"):
        can_read(with_field("Missing"), V1)
    twice = record("Dossier", fld("a", enum("E", "A")), fld("b", enum("E", "A")))
    with pytest.raises(ConfigError, match="defined twice"):
        can_read(twice, twice)
    with pytest.raises(ConfigError, match="'name'"):
        can_read({"type": "record", "fields": []}, V1)


def test_an_invalid_schema_names_its_record_the_field_path_and_the_rule() -> None:
    bad_default = with_field({"type": "array", "items": enum("Status", "A", "B", default="C")})
    with pytest.raises(InvalidSchema) as raised:
        can_read(V1, bad_default)
    assert (raised.value.record, raised.value.path) == ("hub.test.v1.Dossier", "Dossier.value[]")
    assert raised.value.rule.startswith("enum 'hub.test.v1.Status' has the default 'C', which is not one of")
    twice = record("Dossier", fld("a", "int"), fld("a", "long"))
    with pytest.raises(InvalidSchema, match="field 'a' twice"):
        can_read(twice, twice)
    with pytest.raises(InvalidSchema, match="union holds 'null' more than once"):
        can_read(with_field(["null", "string", "null"]), V1)


LINKED = record("Node", fld("value", "int"), fld("next", ["null", "Node"]))
TREE = record(
    "Tree",
    fld("label", "string"),
    fld("children", {"type": "array", "items": "Tree"}),
    fld("forest", ["null", record("Forest", fld("trees", {"type": "map", "values": "Tree"}))]),
)


@pytest.mark.timeout(10)
def test_recursive_types_terminate() -> None:
    assert can_read(LINKED, LINKED) == []
    assert can_read(TREE, TREE) == []
    grown = record(
        "Node", fld("value", "long"), fld("next", ["null", "Node"]), fld("extra", "string", default="")
    )
    assert check(Mode.BACKWARD, grown, [LINKED]) == []
    broken = record("Node", fld("value", "int"), fld("next", ["null", "Node"]), fld("extra", "string"))
    found = check(Mode.BACKWARD, broken, [LINKED])
    assert [i.path for i in found] == ["Node.extra"]
    assert len(check(Mode.FULL_TRANSITIVE, TREE, [TREE, TREE, TREE])) == 0


@pytest.mark.timeout(10)
def test_mutually_recursive_types_terminate() -> None:
    def pair(extra: list[dict[str, Any]]) -> dict[str, Any]:
        b = record("B", fld("a", ["null", "A"]), *extra)
        return record("A", fld("b", ["null", b]))

    assert can_read(pair([]), pair([])) == []
    found = check(Mode.BACKWARD, pair([fld("n", "int")]), [pair([])])
    assert [i.path for i in found] == ["A.b.n"]


# --- properties ----------------------------------------------------------------------------------

_IDENTIFIERS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True)
_PRIMITIVE = st.sampled_from(["null", "boolean", "int", "long", "float", "double", "bytes", "string"])


@dataclass
class _Generator:
    """Draws record schemas whose named types have unique names and may be referred to once defined."""

    draw: st.DrawFn
    names: Iterator[int] = field(default_factory=itertools.count)
    defined: list[str] = field(default_factory=lambda: ["Root"])

    def type_(self, depth: int) -> Schema:
        choice = self.draw(st.integers(0, 7 if depth < 2 else 1))
        if choice == 0 or (choice == 1 and not self.defined):
            return self.draw(_PRIMITIVE)
        if choice == 1:
            return self.draw(st.sampled_from(self.defined))  # a reference, possibly recursive
        if choice == 2:
            return ["null", self.draw(_PRIMITIVE.filter(lambda p: p != "null"))]
        if choice == 3:
            return {"type": "array", "items": self.type_(depth + 1)}
        if choice == 4:
            return {"type": "map", "values": self.type_(depth + 1)}
        return self.named(choice, depth)

    def named(self, choice: int, depth: int) -> Schema:
        name = f"T{next(self.names)}"
        self.defined.append(name)
        if choice == 5:
            return {
                "type": "enum",
                "name": name,
                "symbols": self.draw(st.lists(_IDENTIFIERS, min_size=1, unique=True)),
            }
        if choice == 6:
            return {"type": "fixed", "name": name, "size": self.draw(st.integers(0, 32))}
        return self.record(name, depth + 1)

    def record(self, name: str, depth: int) -> dict[str, Any]:
        field_names = self.draw(st.lists(_IDENTIFIERS, max_size=5, unique=True))
        return record(name, *(fld(f, self.type_(depth)) for f in field_names))


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    return _Generator(draw).record("Root", 0)


@settings(max_examples=150, deadline=None)
@given(records())
def test_every_schema_reads_itself(schema: dict[str, Any]) -> None:
    assert can_read(schema, schema) == []
    assert check(Mode.FULL_TRANSITIVE, schema, [schema, schema]) == []


@settings(max_examples=100, deadline=None)
@given(records(), _IDENTIFIERS)
def test_adding_a_field_with_a_default_is_fully_compatible(schema: dict[str, Any], name: str) -> None:
    added = fld(f"Z{name}", ["null", "string"], default=None)  # upper case: no generated name clashes
    grown = {**schema, "fields": [*schema["fields"], added]}
    assert check(Mode.FULL, grown, [schema]) == []
