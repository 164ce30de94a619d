# ruff: noqa: E501 (a table: one case per line reads better than wrapped calls)
"""Reader/writer cases and mode histories transcribed from the reference implementations' own tests.

Each case is a reader schema, a writer schema, the reference suite's verdict and the test it comes
from; the schemas are written out here as JSON (the suites build them with their own APIs). Where the
project deliberately differs from a reference, ``hub`` holds the project's verdict and ``why`` says
why. Sources:

* avro-java: apache/avro ``lang/java/avro/src/test/java/org/apache/avro/`` ``TestSchemaCompatibility``
  (its ``COMPATIBLE_READER_WRITER_TEST_CASES`` and single tests), ``TestSchemaCompatibility*`` (one class
  per kind of incompatibility), the schemas of ``TestSchemas``, and
  ``io/parsing/TestResolvingGrammarGenerator2`` (union branch selection);
* avro-py: ``lang/py/avro/test/test_compatibility.py`` (aliases) and ``test_schema.py`` (invalid schemas);
* avro-ruby: ``lang/ruby/test/test_schema_compatibility.rb`` (aliases, decimals, union resolution);
* Confluent: confluentinc/schema-registry ``AvroCompatibilityTest`` (the modes over histories).

Java's anonymous records (``Schema.createRecord(fields)``) are given the name ``Record`` here, since an
``.avsc`` record needs one; the Java cases compare them with each other only, so the name changes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.schemas.compatibility import Mode, Schema


class Verdict(StrEnum):
    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    INVALID = "invalid"  # one of the schemas is not valid Avro


@dataclass(frozen=True)
class Case:
    """``reader`` reading data written with ``writer``, as the reference test ``source`` judges it."""

    source: str
    title: str
    reader: Schema
    writer: Schema
    reference: Verdict
    hub: Verdict | None = None  # the project's verdict where it deliberately differs
    why: str = ""
    problems: int | None = None  # how many incompatibilities the reference reports, when it says

    @property
    def expected(self) -> Verdict:
        return self.hub or self.reference


C, N, X = Verdict.COMPATIBLE, Verdict.INCOMPATIBLE, Verdict.INVALID


def rec(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def fld(name: str, type_: Schema, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(name: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


def array(items: Schema) -> dict[str, Any]:
    return {"type": "array", "items": items}


def mapping(values: Schema) -> dict[str, Any]:
    return {"type": "map", "values": values}


def bytes_decimal(precision: int, scale: int | None = None) -> dict[str, Any]:
    scale_entry = {} if scale is None else {"scale": scale}
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, **scale_entry}


def fixed_decimal(name: str, size: int, precision: int, scale: int | None = None) -> dict[str, Any]:
    scale_entry = {} if scale is None else {"scale": scale}
    return fixed(name, size, logicalType="decimal", precision=precision, **scale_entry)


# --- TestSchemas (Java), the schemas most suites share ----------------------------------------------

NULL, BOOLEAN, INT, LONG, FLOAT, DOUBLE, STRING, BYTES = (
    "null",
    "boolean",
    "int",
    "long",
    "float",
    "double",
    "string",
    "bytes",
)
INT_ARRAY, LONG_ARRAY, STRING_ARRAY = array(INT), array(LONG), array(STRING)
INT_MAP, LONG_MAP, STRING_MAP = mapping(INT), mapping(LONG), mapping(STRING)
ENUM1_AB = enum("Enum1", "A", "B")
ENUM1_AB_DEFAULT = enum("Enum1", "A", "B", default="A")
ENUM1_AB_NAMESPACE_1 = enum("Enum1", "A", "B", namespace="namespace1")
ENUM1_AB_NAMESPACE_2 = enum("Enum1", "A", "B", namespace="namespace2")
ENUM1_ABC = enum("Enum1", "A", "B", "C")
ENUM1_BC = enum("Enum1", "B", "C")
ENUM2_AB = enum("Enum2", "A", "B")
ENUM_ABC_DEFAULT_A = enum("Enum", "A", "B", "C", default="A")
ENUM_AB_DEFAULT_A = enum("Enum", "A", "B", default="A")
ENUM_ABC_ENUM_DEFAULT_A_RECORD = rec("Record", fld("Field", enum("Schema", "A", "B", "C", default="A")))
ENUM_AB_ENUM_DEFAULT_A_RECORD = rec("Record", fld("Field", enum("Schema", "A", "B", default="A")))
ENUM_ABC_FIELD_DEFAULT_B_ENUM_DEFAULT_A_RECORD = rec(
    "Record", fld("Field", enum("Schema", "A", "B", "C", default="A"), default="B")
)
ENUM_AB_FIELD_DEFAULT_A_ENUM_DEFAULT_B_RECORD = rec(
    "Record", fld("Field", enum("Schema", "A", "B", default="B"), default="A")
)
EMPTY_UNION: list[Any] = []
NULL_UNION, INT_UNION, LONG_UNION = [NULL], [INT], [LONG]
FLOAT_UNION, DOUBLE_UNION, STRING_UNION, BYTES_UNION = [FLOAT], [DOUBLE], [STRING], [BYTES]
INT_STRING_UNION, STRING_INT_UNION = [INT, STRING], [STRING, INT]
INT_FLOAT_UNION, INT_LONG_UNION = [INT, FLOAT], [INT, LONG]
INT_LONG_FLOAT_DOUBLE_UNION = [INT, LONG, FLOAT, DOUBLE]
EMPTY_RECORD1, EMPTY_RECORD2 = rec("Record1"), rec("Record2")
A_INT_RECORD1 = rec("Record1", fld("a", INT))
A_LONG_RECORD1 = rec("Record1", fld("a", LONG))
A_INT_B_INT_RECORD1 = rec("Record1", fld("a", INT), fld("b", INT))
A_DINT_RECORD1 = rec("Record1", fld("a", INT, default=0))
A_INT_B_DINT_RECORD1 = rec("Record1", fld("a", INT), fld("b", INT, default=0))
A_DINT_B_DINT_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", INT, default=0))
FIXED_4_BYTES, FIXED_8_BYTES = fixed("Fixed", 4), fixed("Fixed", 8)
A_DINT_B_DFIXED_4_BYTES_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", FIXED_4_BYTES))
A_DINT_B_DFIXED_8_BYTES_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", FIXED_8_BYTES))
A_DINT_B_DINT_STRING_UNION_RECORD1 = rec(
    "Record1", fld("a", INT, default=0), fld("b", INT_STRING_UNION, default=0)
)
A_DINT_B_DINT_UNION_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", INT_UNION, default=0))
A_DINT_B_DENUM_1_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", ENUM1_AB))
A_DINT_B_DENUM_2_RECORD1 = rec("Record1", fld("a", INT, default=0), fld("b", ENUM2_AB))
NS_RECORD1 = rec("Record1", fld("f1", [NULL, array(rec("InnerRecord1", fld("a", INT), namespace="ns1"))]))
NS_RECORD2 = rec("Record1", fld("f1", [NULL, array(rec("InnerRecord1", fld("a", INT), namespace="ns2"))]))
WITHOUT_NS = rec("Record", fld("f1", INT))
WITH_NS = rec("ns.Record", fld("f1", INT))
INT_LIST_RECORD = rec("List", fld("head", INT), fld("tail", "List"))
LONG_LIST_RECORD = rec("List", fld("head", LONG), fld("tail", "List"))

JAVA = "avro-java TestSchemaCompatibility"
JAVA_RW = f"{JAVA}#readerWriterCompatibility (COMPATIBLE_READER_WRITER_TEST_CASES)"

_COMPATIBLE_PAIRS: list[tuple[str, Schema, Schema]] = [
    ("BOOLEAN reads BOOLEAN", BOOLEAN, BOOLEAN),
    ("INT reads INT", INT, INT),
    ("LONG reads INT", LONG, INT),
    ("LONG reads LONG", LONG, LONG),
    ("FLOAT reads INT", FLOAT, INT),
    ("FLOAT reads LONG", FLOAT, LONG),
    ("DOUBLE reads LONG", DOUBLE, LONG),
    ("DOUBLE reads INT", DOUBLE, INT),
    ("DOUBLE reads FLOAT", DOUBLE, FLOAT),
    ("STRING reads STRING", STRING, STRING),
    ("BYTES reads BYTES", BYTES, BYTES),
    ("INT_ARRAY reads INT_ARRAY", INT_ARRAY, INT_ARRAY),
    ("LONG_ARRAY reads INT_ARRAY", LONG_ARRAY, INT_ARRAY),
    ("INT_MAP reads INT_MAP", INT_MAP, INT_MAP),
    ("LONG_MAP reads INT_MAP", LONG_MAP, INT_MAP),
    ("ENUM1_AB reads ENUM1_AB", ENUM1_AB, ENUM1_AB),
    ("ENUM1_ABC reads ENUM1_AB", ENUM1_ABC, ENUM1_AB),
    ("ENUM1_AB_DEFAULT reads ENUM1_ABC", ENUM1_AB_DEFAULT, ENUM1_ABC),
    ("ENUM1_AB reads ENUM1_AB_NAMESPACE_1", ENUM1_AB, ENUM1_AB_NAMESPACE_1),
    ("ENUM1_AB_NAMESPACE_1 reads ENUM1_AB", ENUM1_AB_NAMESPACE_1, ENUM1_AB),
    ("ENUM1_AB_NAMESPACE_1 reads ENUM1_AB_NAMESPACE_2", ENUM1_AB_NAMESPACE_1, ENUM1_AB_NAMESPACE_2),
    ("STRING reads BYTES", STRING, BYTES),
    ("BYTES reads STRING", BYTES, STRING),
    ("EMPTY_UNION reads EMPTY_UNION", EMPTY_UNION, EMPTY_UNION),
    ("FLOAT_UNION reads EMPTY_UNION", FLOAT_UNION, EMPTY_UNION),
    ("FLOAT_UNION reads INT_UNION", FLOAT_UNION, INT_UNION),
    ("FLOAT_UNION reads LONG_UNION", FLOAT_UNION, LONG_UNION),
    ("FLOAT_UNION reads INT_LONG_UNION", FLOAT_UNION, INT_LONG_UNION),
    ("INT_UNION reads INT_UNION", INT_UNION, INT_UNION),
    ("INT_STRING_UNION reads STRING_INT_UNION", INT_STRING_UNION, STRING_INT_UNION),
    ("INT_UNION reads EMPTY_UNION", INT_UNION, EMPTY_UNION),
    ("LONG_UNION reads EMPTY_UNION", LONG_UNION, EMPTY_UNION),
    ("LONG_UNION reads INT_UNION", LONG_UNION, INT_UNION),
    ("DOUBLE_UNION reads INT_UNION", DOUBLE_UNION, INT_UNION),
    ("DOUBLE_UNION reads LONG_UNION", DOUBLE_UNION, LONG_UNION),
    ("DOUBLE_UNION reads FLOAT_UNION", DOUBLE_UNION, FLOAT_UNION),
    ("STRING_UNION reads EMPTY_UNION", STRING_UNION, EMPTY_UNION),
    ("STRING_UNION reads BYTES_UNION", STRING_UNION, BYTES_UNION),
    ("BYTES_UNION reads EMPTY_UNION", BYTES_UNION, EMPTY_UNION),
    ("BYTES_UNION reads STRING_UNION", BYTES_UNION, STRING_UNION),
    ("DOUBLE_UNION reads INT_FLOAT_UNION", DOUBLE_UNION, INT_FLOAT_UNION),
    ("FLOAT reads INT_FLOAT_UNION", FLOAT, INT_FLOAT_UNION),
    ("LONG reads INT_LONG_UNION", LONG, INT_LONG_UNION),
    ("DOUBLE reads INT_FLOAT_UNION", DOUBLE, INT_FLOAT_UNION),
    ("DOUBLE reads INT_LONG_FLOAT_DOUBLE_UNION", DOUBLE, INT_LONG_FLOAT_DOUBLE_UNION),
    ("FLOAT reads FLOAT_UNION (singleton union)", FLOAT, FLOAT_UNION),
    ("INT_UNION reads INT (singleton union)", INT_UNION, INT),
    ("INT reads INT_UNION (singleton union)", INT, INT_UNION),
    ("FIXED_4_BYTES reads FIXED_4_BYTES", FIXED_4_BYTES, FIXED_4_BYTES),
    ("EMPTY_RECORD1 reads EMPTY_RECORD1", EMPTY_RECORD1, EMPTY_RECORD1),
    ("EMPTY_RECORD1 reads A_INT_RECORD1", EMPTY_RECORD1, A_INT_RECORD1),
    ("A_INT_RECORD1 reads A_INT_RECORD1", A_INT_RECORD1, A_INT_RECORD1),
    ("A_DINT_RECORD1 reads A_INT_RECORD1", A_DINT_RECORD1, A_INT_RECORD1),
    ("A_DINT_RECORD1 reads A_DINT_RECORD1", A_DINT_RECORD1, A_DINT_RECORD1),
    ("A_INT_RECORD1 reads A_DINT_RECORD1", A_INT_RECORD1, A_DINT_RECORD1),
    ("A_LONG_RECORD1 reads A_INT_RECORD1", A_LONG_RECORD1, A_INT_RECORD1),
    ("A_INT_RECORD1 reads A_INT_B_INT_RECORD1", A_INT_RECORD1, A_INT_B_INT_RECORD1),
    ("A_DINT_RECORD1 reads A_INT_B_INT_RECORD1", A_DINT_RECORD1, A_INT_B_INT_RECORD1),
    ("A_INT_B_DINT_RECORD1 reads A_INT_RECORD1", A_INT_B_DINT_RECORD1, A_INT_RECORD1),
    ("A_DINT_B_DINT_RECORD1 reads EMPTY_RECORD1", A_DINT_B_DINT_RECORD1, EMPTY_RECORD1),
    ("A_DINT_B_DINT_RECORD1 reads A_INT_RECORD1", A_DINT_B_DINT_RECORD1, A_INT_RECORD1),
    ("A_INT_B_INT_RECORD1 reads A_DINT_B_DINT_RECORD1", A_INT_B_INT_RECORD1, A_DINT_B_DINT_RECORD1),
    ("INT_LIST_RECORD reads INT_LIST_RECORD (recursive)", INT_LIST_RECORD, INT_LIST_RECORD),
    ("LONG_LIST_RECORD reads LONG_LIST_RECORD (recursive)", LONG_LIST_RECORD, LONG_LIST_RECORD),
    ("LONG_LIST_RECORD reads INT_LIST_RECORD (recursive)", LONG_LIST_RECORD, INT_LIST_RECORD),
    ("NULL reads NULL", NULL, NULL),
    ("ENUM_AB_ENUM_DEFAULT_A_RECORD reads ENUM_ABC_ENUM_DEFAULT_A_RECORD", ENUM_AB_ENUM_DEFAULT_A_RECORD,
     ENUM_ABC_ENUM_DEFAULT_A_RECORD),
    ("ENUM_AB_FIELD_DEFAULT_A_ENUM_DEFAULT_B_RECORD reads ENUM_ABC_FIELD_DEFAULT_B_ENUM_DEFAULT_A_RECORD",
     ENUM_AB_FIELD_DEFAULT_A_ENUM_DEFAULT_B_RECORD, ENUM_ABC_FIELD_DEFAULT_B_ENUM_DEFAULT_A_RECORD),
    ("NS_RECORD1 reads NS_RECORD2 (inner record in ns1 vs ns2)", NS_RECORD1, NS_RECORD2),
    ("WITHOUT_NS reads WITH_NS (Record vs ns.Record)", WITHOUT_NS, WITH_NS),
]  # fmt: skip

JAVA_COMPATIBLE = [Case(JAVA_RW, title, reader, writer, C) for title, reader, writer in _COMPATIBLE_PAIRS]

_OLD_FIELDS = rec("Record", fld("oldfield1", INT), fld("oldfield2", STRING))
JAVA_SINGLE = [
    Case(f"{JAVA}#validateSchemaPairMissingField", "reader drops oldfield2",
         rec("Record", fld("oldfield1", INT)), _OLD_FIELDS, C),
    Case(f"{JAVA}#validateSchemaPairMissingSecondField", "reader drops oldfield1",
         rec("Record", fld("oldfield2", STRING)), _OLD_FIELDS, C),
    Case(f"{JAVA}#validateSchemaPairAllFields", "reader has both fields", _OLD_FIELDS, _OLD_FIELDS, C),
    Case(f"{JAVA}#validateSchemaNewFieldWithDefault", "reader adds newfield1 with default 42",
         rec("Record", fld("oldfield1", INT), fld("newfield1", INT, default=42)), _OLD_FIELDS, C),
    Case(f"{JAVA}#validateSchemaNewField", "reader adds newfield1 without default",
         rec("Record", fld("oldfield1", INT), fld("newfield1", INT)), _OLD_FIELDS, N, problems=1),
    Case(f"{JAVA}#validateArrayWriterSchema", "STRING_ARRAY reads STRING_ARRAY", array(STRING), STRING_ARRAY, C),
    Case(f"{JAVA}#validateArrayWriterSchema", "STRING_MAP reads STRING_ARRAY", STRING_MAP, STRING_ARRAY, N),
    Case(f"{JAVA}#validatePrimitiveWriterSchema", "INT reads STRING", INT, STRING, N),
    Case(f"{JAVA}#unionReaderWriterSubsetIncompatibility", "[int, string] reads [int, string, long]",
         [INT, STRING], [INT, STRING, LONG], N, problems=1),
    Case(f"{JAVA}#unionWriterSimpleReaderIncompatibility", "mandatory int age reads optional age",
         rec("Account", fld("age", INT)), rec("Account", fld("age", [NULL, INT], default=None)), N, problems=1),
]  # fmt: skip

_TYPE_MISMATCH: list[tuple[Schema, Schema, str]] = [
    (NULL, INT, "NULL reads INT"),
    (NULL, LONG, "NULL reads LONG"),
    (BOOLEAN, INT, "BOOLEAN reads INT"),
    (INT, NULL, "INT reads NULL"),
    (INT, BOOLEAN, "INT reads BOOLEAN"),
    (INT, LONG, "INT reads LONG"),
    (INT, FLOAT, "INT reads FLOAT"),
    (INT, DOUBLE, "INT reads DOUBLE"),
    (LONG, FLOAT, "LONG reads FLOAT"),
    (LONG, DOUBLE, "LONG reads DOUBLE"),
    (FLOAT, DOUBLE, "FLOAT reads DOUBLE"),
    (DOUBLE, STRING, "DOUBLE reads STRING"),
    (FIXED_4_BYTES, STRING, "FIXED_4_BYTES reads STRING"),
    (STRING, BOOLEAN, "STRING reads BOOLEAN"),
    (STRING, INT, "STRING reads INT"),
    (BYTES, NULL, "BYTES reads NULL"),
    (BYTES, INT, "BYTES reads INT"),
    (A_INT_RECORD1, INT, "A_INT_RECORD1 reads INT"),
    (INT_ARRAY, LONG_ARRAY, "INT_ARRAY reads LONG_ARRAY"),
    (INT_MAP, INT_ARRAY, "INT_MAP reads INT_ARRAY"),
    (INT_ARRAY, INT_MAP, "INT_ARRAY reads INT_MAP"),
    (INT_MAP, LONG_MAP, "INT_MAP reads LONG_MAP"),
    (INT, ENUM2_AB, "INT reads ENUM2_AB"),
    (ENUM2_AB, INT, "ENUM2_AB reads INT"),
    (FLOAT, INT_LONG_FLOAT_DOUBLE_UNION, "FLOAT reads INT_LONG_FLOAT_DOUBLE_UNION (the double branch)"),
    (LONG, INT_FLOAT_UNION, "LONG reads INT_FLOAT_UNION (the float branch)"),
    (INT, INT_FLOAT_UNION, "INT reads INT_FLOAT_UNION (the float branch)"),
    (INT_LIST_RECORD, LONG_LIST_RECORD, "INT_LIST_RECORD reads LONG_LIST_RECORD (recursive)"),
]
JAVA_TYPE_MISMATCH = [
    Case("avro-java TestSchemaCompatibilityTypeMismatch", title, reader, writer, N, problems=1)
    for reader, writer, title in _TYPE_MISMATCH
]

_RECORD1_WITH_INT, _RECORD2_WITH_INT = rec("Record1", fld("field1", INT)), rec("Record2", fld("field1", INT))
_MISSING_BRANCH: list[tuple[Schema, Schema, str, int]] = [
    (INT_UNION, INT_STRING_UNION, "INT_UNION reads INT_STRING_UNION", 1),
    (STRING_UNION, INT_STRING_UNION, "STRING_UNION reads INT_STRING_UNION", 1),
    (INT_UNION, [INT, _RECORD1_WITH_INT], "INT_UNION reads UNION_INT_RECORD1", 1),
    (INT_UNION, [INT, _RECORD2_WITH_INT], "INT_UNION reads UNION_INT_RECORD2", 1),
    ([INT, _RECORD1_WITH_INT], [INT, _RECORD2_WITH_INT], "UNION_INT_RECORD1 reads UNION_INT_RECORD2", 1),
    (INT_UNION, [INT, ENUM1_AB], "INT_UNION reads UNION_INT_ENUM1_AB", 1),
    (INT_UNION, [INT, FIXED_4_BYTES], "INT_UNION reads UNION_INT_FIXED_4_BYTES", 1),
    (INT_UNION, [INT, BOOLEAN], "INT_UNION reads UNION_INT_BOOLEAN", 1),
    (INT_UNION, LONG_UNION, "INT_UNION reads LONG_UNION", 1),
    (INT_UNION, FLOAT_UNION, "INT_UNION reads FLOAT_UNION", 1),
    (INT_UNION, DOUBLE_UNION, "INT_UNION reads DOUBLE_UNION", 1),
    (INT_UNION, BYTES_UNION, "INT_UNION reads BYTES_UNION", 1),
    (INT_UNION, [INT, INT_ARRAY], "INT_UNION reads UNION_INT_ARRAY_INT", 1),
    (INT_UNION, [INT, INT_MAP], "INT_UNION reads UNION_INT_MAP_INT", 1),
    (INT_UNION, [INT, NULL], "INT_UNION reads UNION_INT_NULL", 1),
    (INT_UNION, INT_LONG_FLOAT_DOUBLE_UNION, "INT_UNION reads INT_LONG_FLOAT_DOUBLE_UNION", 3),
    (A_DINT_B_DINT_UNION_RECORD1, A_DINT_B_DINT_STRING_UNION_RECORD1,
     "A_DINT_B_DINT_UNION_RECORD1 reads A_DINT_B_DINT_STRING_UNION_RECORD1", 1),
]  # fmt: skip
JAVA_MISSING_BRANCH = [
    Case("avro-java TestSchemaCompatibilityMissingUnionBranch", title, reader, writer, N, problems=count)
    for reader, writer, title, count in _MISSING_BRANCH
]

JAVA_NAME_MISMATCH = [
    Case("avro-java TestSchemaCompatibilityNameMismatch", title, reader, writer, N, problems=1)
    for reader, writer, title in [
        (ENUM1_AB, ENUM2_AB, "ENUM1_AB reads ENUM2_AB"),
        (EMPTY_RECORD2, EMPTY_RECORD1, "EMPTY_RECORD2 reads EMPTY_RECORD1"),
        (FIXED_4_BYTES, fixed("AnotherName", 4), "FIXED_4_BYTES reads FIXED_4_ANOTHER_NAME"),
        (A_DINT_B_DENUM_1_RECORD1, A_DINT_B_DENUM_2_RECORD1, "A_DINT_B_DENUM_1_RECORD1 reads A_DINT_B_DENUM_2_RECORD1"),
    ]
]  # fmt: skip

JAVA_FIXED_SIZE = [
    Case("avro-java TestSchemaCompatibilityFixedSizeMismatch", title, reader, writer, N, problems=1)
    for reader, writer, title in [
        (FIXED_4_BYTES, FIXED_8_BYTES, "FIXED_4_BYTES reads FIXED_8_BYTES"),
        (FIXED_8_BYTES, FIXED_4_BYTES, "FIXED_8_BYTES reads FIXED_4_BYTES"),
        (A_DINT_B_DFIXED_8_BYTES_RECORD1, A_DINT_B_DFIXED_4_BYTES_RECORD1, "record with fixed 8 reads fixed 4"),
        (A_DINT_B_DFIXED_4_BYTES_RECORD1, A_DINT_B_DFIXED_8_BYTES_RECORD1, "record with fixed 4 reads fixed 8"),
    ]
]  # fmt: skip

JAVA_MISSING_SYMBOLS = [
    Case("avro-java TestSchemaCompatibilityMissingEnumSymbols", title, reader, writer, N, problems=1)
    for reader, writer, title in [
        (ENUM1_AB, ENUM1_ABC, "ENUM1_AB reads ENUM1_ABC"),
        (ENUM1_BC, ENUM1_ABC, "ENUM1_BC reads ENUM1_ABC"),
        (rec("Record1", fld("field1", ENUM1_AB)), rec("Record1", fld("field1", ENUM1_ABC)),
         "RECORD1_WITH_ENUM_AB reads RECORD1_WITH_ENUM_ABC"),
    ]
]  # fmt: skip

JAVA_MISSING_DEFAULT = [
    Case(
        "avro-java TestSchemaCompatibilityReaderFieldMissingDefaultValue",
        title,
        reader,
        writer,
        N,
        problems=1,
    )
    for reader, writer, title in [
        (A_INT_RECORD1, EMPTY_RECORD1, "A_INT_RECORD1 reads EMPTY_RECORD1"),
        (A_INT_B_DINT_RECORD1, EMPTY_RECORD1, "A_INT_B_DINT_RECORD1 reads EMPTY_RECORD1"),
    ]
]

_ENUM_DEFAULTS = "avro-java TestSchemaCompatibilityEnumDefaults"
JAVA_ENUM_DEFAULTS = [
    Case(f"{_ENUM_DEFAULTS}#enumDefaultNotAppliedWhenWriterFieldMissing", "reader field1 missing from writer",
         rec("Record1", fld("field1", ENUM_AB_DEFAULT_A)), rec("Record1", fld("field2", ENUM2_AB)), N),
    Case(f"{_ENUM_DEFAULTS}#enumDefaultAppliedWhenNoFieldDefaultDefined", "enum default reads symbol C",
         rec("Record1", fld("field1", ENUM_AB_DEFAULT_A)), rec("Record1", fld("field1", ENUM_ABC_DEFAULT_A)), C),
    Case(f"{_ENUM_DEFAULTS}#enumDefaultAppliedWhenFieldDefaultDefined", "enum default, not the field's, reads C",
         rec("Record1", fld("field1", ENUM_AB_DEFAULT_A, default="B")),
         rec("Record1", fld("field1", ENUM_ABC_DEFAULT_A)), C),
    Case(f"{_ENUM_DEFAULTS}#fieldDefaultNotAppliedForUnknownSymbol", "a field default does not read symbol C",
         rec("Record1", fld("field1", ENUM1_AB, default="A")), rec("Record1", fld("field1", ENUM1_ABC)), N),
]  # fmt: skip

_MULTIPLE_READER = rec(
    "base",
    fld("check_enum_symbols_field", enum("check_enum_symbols_type", "A", "C")),
    fld("check_enum_name_field", enum("check_enum_name_type", "A", "B", "C", "D")),
    fld("type_mismatch_field", STRING),
    fld("sub_record", rec(
        "sub_record_type",
        fld("identical_1_field", LONG, default=42),
        fld("extra_no_default_field", LONG),
        fld("fixed_length_mismatch_field", fixed("fixed_length_mismatch_type", 4)),
        fld("union_missing_branches_field", [BOOLEAN]),
        fld("reader_union_does_not_support_type_field", [BOOLEAN]),
        fld("record_fqn_mismatch_field", rec(
            "recordA",
            fld("A_field_0", BOOLEAN, default=True),
            fld("array_type_mismatch_field", array(STRING)),
            namespace="not_nsA",
        )),
    )),
)  # fmt: skip
_MULTIPLE_WRITER = rec(
    "base",
    fld("check_enum_symbols_field", enum("check_enum_symbols_type", "A", "B", "C", "D")),
    fld("check_enum_name_field", enum("check_enum_name_type_ERR", "A", "B", "C", "D")),
    fld("type_mismatch_field", LONG),
    fld("sub_record", rec(
        "sub_record_type",
        fld("identical_1_field", LONG, default=42),
        fld("fixed_length_mismatch_field", fixed("fixed_length_mismatch_type", 8)),
        fld("union_missing_branches_field", [BOOLEAN, DOUBLE, STRING]),
        fld("reader_union_does_not_support_type_field", LONG),
        fld("record_fqn_mismatch_field", rec(
            "recordA",
            fld("A_field_0", BOOLEAN, default=True),
            fld("array_type_mismatch_field", array(BOOLEAN)),
            namespace="nsA",
        )),
    )),
)  # fmt: skip
JAVA_MULTIPLE = [
    Case("avro-java TestSchemaCompatibilityMultiple#multipleIncompatibilities",
         "nine incompatibilities in one pair; recordA in not_nsA reads recordA in nsA (unqualified names)",
         _MULTIPLE_READER, _MULTIPLE_WRITER, N, problems=9),
]  # fmt: skip

# --- union branch selection: Java's resolver and Ruby's checker, on the same schemas ---------------

POINT_2D_FULLNAME = rec("Point", fld("x", DOUBLE), fld("y", DOUBLE), namespace="written")
POINT_3D_NO_DEFAULT = rec("Point", fld("x", DOUBLE), fld("y", DOUBLE), fld("z", DOUBLE))
POINT_2D = rec("Point2D", fld("x", DOUBLE), fld("y", DOUBLE))
POINT_3D = rec("Point3D", fld("x", DOUBLE), fld("y", DOUBLE), fld("z", DOUBLE, default=0.0))
POINT_3D_MATCH_NAME = rec("Point", fld("x", DOUBLE), fld("y", DOUBLE), fld("z", DOUBLE, default=0.0))

_STRUCTURE = (
    "Java's resolver picks a union branch by structure when no name matches; the specification (and "
    "fastavro, the hub's reader) takes the first branch whose unqualified name matches, here the Point "
    "without a default for z, so the data does not resolve"
)
_RUBY_FULL_NAME = (
    "Ruby matches a union branch by full name; the specification matches named types by unqualified "
    "name, so written.Point is read by the branch Point (z has a default), as Java and fastavro do"
)
_UNIONS: list[tuple[str, list[Any], Verdict, Verdict, Verdict | None, str]] = [
    # title, reader union, Java's verdict, Ruby's verdict, the hub's where it differs from Java, why
    ("NoStructureMatch: short name match, structure does not", [NULL, POINT_3D_NO_DEFAULT], N, N, None, ""),
    ("FirstStructureMatch2d: no name match, Point2D fits",
     [NULL, POINT_3D_NO_DEFAULT, POINT_2D, POINT_3D], C, N, N, _STRUCTURE),
    ("FirstStructureMatch3d: no name match, Point3D fits",
     [NULL, POINT_3D_NO_DEFAULT, POINT_3D, POINT_2D], C, N, N, _STRUCTURE),
    ("NamedStructureMatch: the short name match with a default for z",
     [NULL, POINT_2D, POINT_3D_MATCH_NAME, POINT_3D], C, N, None, ""),
    ("FullNameMatch: a branch named written.Point",
     [NULL, POINT_2D, POINT_3D_MATCH_NAME, POINT_3D, POINT_2D_FULLNAME], C, C, None, ""),
]  # fmt: skip
UNION_SELECTION = [
    Case(f"avro-java TestResolvingGrammarGenerator2#unionResolution{title.split(':')[0]}",
         f"{title}; writer written.Point", reader, POINT_2D_FULLNAME, java, hub, why)
    for title, reader, java, _, hub, why in _UNIONS
] + [
    Case(f"avro-ruby TestSchemaCompatibility#test_union_resolution ({title.split(':')[0]})",
         f"{title}; writer written.Point", reader, POINT_2D_FULLNAME, ruby,
         C if title.startswith("Named") else None, _RUBY_FULL_NAME if title.startswith("Named") else "")
    for title, reader, java, ruby, _, _ in _UNIONS
    if ruby != java  # the others are the same pairs with the same verdicts as Java's
]  # fmt: skip

# --- aliases: Python and Ruby -----------------------------------------------------------------------

_FOO = rec("foo", fld("f1", INT), fld("f2", STRING))
PYTHON = [
    Case("avro-py test_compatibility.py#test_simple_schema_promotion", "field alias bar <- f1",
         rec("foo", fld("bar", INT, aliases=["f1"])), _FOO, C),
    Case("avro-py test_compatibility.py#test_simple_schema_promotion", "record alias other <- foo",
         rec("other", fld("f1", INT), aliases=["foo"]), _FOO, C),
    Case("avro-py test_compatibility.py#test_schema_compatibility", "union [int, string] reads [int, string, long]",
         rec("Record", fld("f1", [INT, STRING])), rec("Record", fld("f1", [INT, STRING, LONG])), N),
]  # fmt: skip

RUBY = "avro-ruby TestSchemaCompatibility"
ENUM1_AB_ALIASED = enum("Enum2", "A", "B", aliases=["Enum1"])
FIXED1, FIXED2, FIXED1_SIZE3 = fixed("Fixed1", 2), fixed("Fixed2", 2), fixed("Fixed1", 3)
FIXED1_ALIASED = fixed("Fixed2", 2, aliases=["Fixed1"])
EMPTY_RECORD1_ALIASED = rec("Record2", aliases=["Record1"])
NESTED_RECORD = rec("parent", fld("attribute", rec("child", fld("id", STRING))))
NESTED_OPTIONAL_RECORD = rec(
    "parent", fld("attribute", [NULL, rec("child", fld("id", STRING))], default=None)
)
_RUBY_WRITER = rec("Record", fld("oldfield1", INT), fld("oldfield2", STRING))
RUBY_CASES = [
    Case(f"{RUBY}#test_compatible_reader_writer_pairs", "enum Enum2 aliased Enum1 reads Enum1",
         ENUM1_AB_ALIASED, ENUM1_AB, C),
    Case(f"{RUBY}#test_compatible_reader_writer_pairs", "fixed Fixed2 aliased Fixed1 reads Fixed1",
         FIXED1_ALIASED, FIXED1, C),
    Case(f"{RUBY}#test_compatible_reader_writer_pairs", "record Record2 aliased Record1 reads Record1",
         EMPTY_RECORD1_ALIASED, EMPTY_RECORD1, C),
    Case(f"{RUBY}#test_compatible_reader_writer_pairs", "optional nested record reads the nested record",
         NESTED_OPTIONAL_RECORD, NESTED_RECORD, C),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "Enum1 reads Enum2 aliased Enum1 (aliases are the reader's)",
         ENUM1_AB, ENUM1_AB_ALIASED, N),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "Fixed1 reads Fixed2", FIXED1, FIXED2, N),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "Fixed1 size 2 reads Fixed1 size 3", FIXED1, FIXED1_SIZE3, N),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "Fixed1 reads Fixed2 aliased Fixed1", FIXED1, FIXED1_ALIASED, N),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "Record1 reads Record2 aliased Record1",
         EMPTY_RECORD1, EMPTY_RECORD1_ALIASED, N),
    Case(f"{RUBY}#test_incompatible_reader_writer_pairs", "nested record reads the optional nested record",
         NESTED_RECORD, NESTED_OPTIONAL_RECORD, N),
    Case(f"{RUBY}#test_missing_field", "full writer reads the reader missing oldfield2",
         _RUBY_WRITER, rec("Record", fld("oldfield1", INT)), N),
    Case(f"{RUBY}#test_aliased_field", "newname1 aliased oldfield1 reads oldfield1",
         rec("Record", fld("newname1", INT, aliases=["oldfield1"]), fld("oldfield2", STRING)), _RUBY_WRITER, C),
    Case(f"{RUBY}#test_aliased_field", "the old schema reads newname1 (no alias on its side)",
         _RUBY_WRITER, rec("Record", fld("newname1", INT, aliases=["oldfield1"]), fld("oldfield2", STRING)), N),
    Case(f"{RUBY}#test_union_reader_writer_subset_incompatiblity", "[int, string] reads [string]",
         [INT, STRING], [STRING], C),
    Case(f"{RUBY}#test_incompatible_record_field", "ns.MyRecord field1 int reads field1 string",
         rec("MyRecord", fld("field1", INT), namespace="ns"), rec("MyRecord", fld("field1", STRING), namespace="ns"), N),
    Case(f"{RUBY}#test_enum_symbols", "MyEnum [A, B] reads [A, B, C]",
         enum("MyEnum", "A", "B"), enum("MyEnum", "A", "B", "C"), N),
    Case(f"{RUBY}#test_enum_symbols", "MyEnum [A, B, C] reads [A, B]",
         enum("MyEnum", "A", "B", "C"), enum("MyEnum", "A", "B"), C),
    Case(f"{RUBY}#test_crossed_aliases", "field1/field2 aliased crosswise: names win over aliases",
         rec("Record", fld("field1", STRING, aliases=["field2"]), fld("field2", INT, aliases=["field1"])),
         rec("Record", fld("field1", INT), fld("field2", STRING)), N),
]  # fmt: skip

# --- decimals: Ruby's checker ------------------------------------------------------------------------

_DECIMAL_SPEC = (
    "the specification's Logical Types section: two decimal schemas match only if their scales and "
    "precisions match (a missing scale is 0); Ruby compares only the underlying types here. fastavro "
    "decodes such data with the writer's scale, a reader applying its own would misread the number"
)
_DECIMAL_UNDERLYING = (
    "the specification's Schema Resolution section matches fixed only with a fixed of the same "
    "unqualified name and size, and never with bytes; the decimal sentence of Logical Types adds a "
    "condition, it does not lift that one. fastavro refuses to resolve such a pair"
)
BYTES_DEC_4_4 = bytes_decimal(4, 4)
FIXED_DEC = fixed_decimal("Fixed1", 2, 4, 2)
_RD = f"{RUBY}#test_bytes_decimal"
_RF = f"{RUBY}#test_fixed_decimal"
_RT = f"{RUBY}#test_decimal_different_types"
DECIMALS = [
    Case(_RD, "decimal(4,4) reads plain bytes", BYTES_DEC_4_4, BYTES, C),
    Case(_RD, "plain bytes reads decimal(4,4)", BYTES, BYTES_DEC_4_4, C),
    Case(_RD, "unknown logical type reads decimal(4,4)", {"type": "bytes", "logicalType": "unknown"}, BYTES_DEC_4_4, C),
    Case(_RD, "decimal(5,4) reads decimal(4,4)", bytes_decimal(5, 4), BYTES_DEC_4_4, C, N, _DECIMAL_SPEC),
    Case(_RD, "decimal(4) reads decimal(4,4)", bytes_decimal(4), BYTES_DEC_4_4, C, N, _DECIMAL_SPEC),
    Case(_RD, "decimal(4,0) reads decimal(4,4)", bytes_decimal(4, 0), BYTES_DEC_4_4, C, N, _DECIMAL_SPEC),
    Case(_RD, "decimal(4) reads decimal(4,0): no scale is scale 0", bytes_decimal(4), bytes_decimal(4, 0), C),
    Case(_RD, "decimal(4,4) reads another decimal(4,4)", bytes_decimal(4, 4), BYTES_DEC_4_4, C),
    Case(_RD, "decimal(4) reads another decimal(4)", bytes_decimal(4), bytes_decimal(4), C),
    Case(_RF, "plain Fixed1 reads Fixed1 decimal(4,2)", FIXED1, FIXED_DEC, C),
    Case(_RF, "Fixed1 decimal(4,2) reads plain Fixed1", FIXED_DEC, FIXED1, C),
    Case(_RF, "Fixed1 decimal(4,2) reads plain Fixed2", FIXED_DEC, FIXED2, N),
    Case(_RF, "Fixed2 decimal(4,2) reads Fixed1 decimal(4,2)", fixed_decimal("Fixed2", 2, 4, 2), FIXED_DEC, C, N,
         _DECIMAL_UNDERLYING),
    Case(_RF, "Fixed1 decimal(3,2) reads Fixed1 decimal(4,2)", fixed_decimal("Fixed1", 2, 3, 2), FIXED_DEC, C, N,
         _DECIMAL_SPEC),
    Case(_RF, "FixedS3 size 3 decimal(4,2) reads Fixed1 size 2 decimal(4,2)", fixed_decimal("FixedS3", 3, 4, 2),
         FIXED_DEC, C, N, _DECIMAL_UNDERLYING),
    Case(_RF, "Fixed1 unknown logical type reads Fixed1 decimal(4,2)",
         fixed("Fixed1", 2, logicalType="unknown"), FIXED_DEC, C),
    Case(_RF, "Fixed1 decimal(4,0) reads Fixed1 decimal(4)", fixed_decimal("Fixed1", 2, 4, 0),
         fixed_decimal("Fixed1", 2, 4), C),
    Case(_RF, "Fixed1 decimal(4) reads Fixed1 decimal(4,2)", fixed_decimal("Fixed1", 2, 4), FIXED_DEC, C, N,
         _DECIMAL_SPEC),
    Case(_RF, "Fixed1 decimal(4,0) reads Fixed1 decimal(4,2)", fixed_decimal("Fixed1", 2, 4, 0), FIXED_DEC, C, N,
         _DECIMAL_SPEC),
    Case(_RT, "bytes decimal(4,2) reads Fixed1 decimal(4,2)", bytes_decimal(4, 2), FIXED_DEC, C, N,
         _DECIMAL_UNDERLYING),
    Case(_RT, "Fixed1 decimal(4,2) reads bytes decimal(4,2)", FIXED_DEC, bytes_decimal(4, 2), C, N,
         _DECIMAL_UNDERLYING),
    Case(_RT, "plain bytes reads Fixed1 decimal(4,2)", BYTES, FIXED_DEC, N),
    Case(_RT, "Fixed1 decimal(4,2) reads plain bytes", FIXED_DEC, BYTES, N),
    Case(_RT, "bytes decimal(4,2) reads plain Fixed1", bytes_decimal(4, 2), FIXED1, N),
    Case(_RT, "plain Fixed1 reads bytes decimal(4,2)", FIXED1, bytes_decimal(4, 2), N),
    Case(_RT, "bytes decimal(4,2) reads Fixed1 decimal(4,4)", bytes_decimal(4, 2), fixed_decimal("Fixed1", 2, 4, 4), N),
    Case(_RT, "Fixed1 decimal(4,4) reads bytes decimal(4,2)", fixed_decimal("Fixed1", 2, 4, 4), bytes_decimal(4, 2), N),
    Case(_RT, "Fixed1 decimal(4,0) reads bytes decimal(4)", fixed_decimal("Fixed1", 2, 4, 0), bytes_decimal(4), C, N,
         _DECIMAL_UNDERLYING),
    Case(_RT, "bytes decimal(4) reads Fixed1 decimal(4,0)", bytes_decimal(4), fixed_decimal("Fixed1", 2, 4, 0), C, N,
         _DECIMAL_UNDERLYING),
    Case(_RT, "Fixed1 decimal(4) reads bytes decimal(4,0)", fixed_decimal("Fixed1", 2, 4), bytes_decimal(4, 0), C, N,
         _DECIMAL_UNDERLYING),
    Case(_RT, "bytes decimal(4,0) reads Fixed1 decimal(4)", bytes_decimal(4, 0), fixed_decimal("Fixed1", 2, 4), C, N,
         _DECIMAL_UNDERLYING),
]  # fmt: skip

# --- invalid schemas: Python's test_schema.py -------------------------------------------------------

_PY_SCHEMA = "avro-py test_schema.py"
_INVALID: list[tuple[str, Schema]] = [
    ("ENUM_EXAMPLES bad_default (AVRO-3229): default B not in [A]",
     enum("bad_default", "A", default="B")),
    ("ENUM_EXAMPLES: symbols is a string", {"type": "enum", "name": "Status", "symbols": "Normal Caution Critical"}),
    ("ENUM_EXAMPLES: name is a list", {"type": "enum", "name": [0, 1, 1, 2, 3, 5, 8], "symbols": ["Golden", "Mean"]}),
    ("ENUM_EXAMPLES: no name", {"type": "enum", "symbols": ["I", "will", "fail", "no", "name"]}),
    ("ENUM_EXAMPLES: duplicate symbol AA", enum("Test", "AA", "AA")),
    ("ENUM_EXAMPLES (AVRO-2174): symbol with white space", enum("AVRO2174", "white space")),
    ("FIXED_EXAMPLES: missing size", {"type": "fixed", "name": "Missing size"}),
    ("FIXED_EXAMPLES: no name", {"type": "fixed", "size": 314}),
    ("FIXED_EXAMPLES (AVRO-621): name 'dr. spaceman'", fixed("dr. spaceman", 314)),
    ("UNION_EXAMPLES: [null, null]", [NULL, NULL]),
    ("UNION_EXAMPLES: [long, long]", [LONG, LONG]),
    ("UNION_EXAMPLES: two arrays", [array(LONG), array(STRING)]),
    ("NAME_EXAMPLES: an enum named int", enum("int", "A", "B")),
    ("RECORD_EXAMPLES: a field without a name", rec("Address", {"type": STRING}, fld("City", STRING))),
    ("RECORD_EXAMPLES: a field without a type", rec("Event", {"name": "Sponsor"}, fld("City", STRING))),
    ("RECORD_EXAMPLES: fields is a string",
     {"type": "record", "name": "Rainer", "fields": "His vision, from the constantly passing bars"}),
    ("RECORD_EXAMPLES: name is a list", {"type": "record", "name": ["Tom", "Jerry"], "fields": [fld("name", STRING)]}),
]  # fmt: skip
_VALID: list[tuple[str, Schema]] = [
    ("NAME_EXAMPLES: an enum named record", enum("record", "A", "B")),
    ("IGNORED_LOGICAL_TYPE: decimal without precision is plain bytes", {"type": "bytes", "logicalType": "decimal", "scale": 0}),
    ("IGNORED_LOGICAL_TYPE: decimal scale 3 > precision 2 is plain bytes", bytes_decimal(2, 3)),
    ("IGNORED_LOGICAL_TYPE: decimal precision 311 on fixed 129 is a plain fixed",
     fixed_decimal("TestIgnored", 129, 311)),
    ("DECIMAL_LOGICAL_TYPE: fixed decimal(4,2) of size 10", fixed_decimal("TestDecimal", 10, 4, 2)),
]  # fmt: skip
_PRIMITIVE_NAME = (
    'the specification\'s Names section: primitive type names "may not be defined in any namespace"; '
    "Python accepts ns.int"
)
VALIDITY = (
    [Case(f"{_PY_SCHEMA} {title}", "the schema reads itself", schema, schema, X) for title, schema in _INVALID]
    + [Case(f"{_PY_SCHEMA} {title}", "the schema reads itself", schema, schema, C) for title, schema in _VALID]
    + [Case(f"{_PY_SCHEMA} NAME_EXAMPLES: an enum named ns.int", "the schema reads itself",
            enum("ns.int", "A", "B"), enum("ns.int", "A", "B"), C, X, _PRIMITIVE_NAME),
       Case(f"{_PY_SCHEMA} NAME_EXAMPLES: namespace ns, name int", "the schema reads itself",
            enum("int", "A", "B", namespace="ns"), enum("int", "A", "B", namespace="ns"), C, X, _PRIMITIVE_NAME)]
)  # fmt: skip

CASES: list[Case] = [
    *JAVA_COMPATIBLE,
    *JAVA_SINGLE,
    *JAVA_TYPE_MISMATCH,
    *JAVA_MISSING_BRANCH,
    *JAVA_NAME_MISMATCH,
    *JAVA_FIXED_SIZE,
    *JAVA_MISSING_SYMBOLS,
    *JAVA_MISSING_DEFAULT,
    *JAVA_ENUM_DEFAULTS,
    *JAVA_MULTIPLE,
    *UNION_SELECTION,
    *PYTHON,
    *RUBY_CASES,
    *DECIMALS,
    *VALIDITY,
]


# --- the seven modes over schema histories ------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """``new`` following ``previous`` (oldest first) under ``mode``: allowed or not, per ``source``."""

    source: str
    title: str
    mode: Mode
    previous: tuple[Schema, ...]
    new: Schema
    allowed: bool


S1 = rec("myrecord", fld("f1", STRING))
S2 = rec("myrecord", fld("f1", STRING), fld("f2", STRING, default="foo"))
S3 = rec("myrecord", fld("f1", STRING), fld("f2", STRING))
S4 = rec("myrecord", fld("f1_new", STRING, aliases=["f1"]))
S6 = rec("myrecord", fld("f1", [NULL, STRING], doc="doc of f1"))
S7 = rec("myrecord", fld("f1", [NULL, STRING, INT], doc="doc of f1"))
S8 = rec("myrecord", fld("f1", STRING), fld("f2", STRING, default="foo"), fld("f3", STRING, default="bar"))
CONFLUENT = "Confluent AvroCompatibilityTest"
HUB = "hub (this project): a history over the schemas of Confluent's AvroCompatibilityTest"
B, BT, F, FT = Mode.BACKWARD, Mode.BACKWARD_TRANSITIVE, Mode.FORWARD, Mode.FORWARD_TRANSITIVE
FU, FUT, NONE = Mode.FULL, Mode.FULL_TRANSITIVE, Mode.NONE

HISTORIES = [
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "add a field with a default", B, (S1,), S2, True),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "add a field without a default", B, (S1,), S3, False),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "rename a field with an alias", B, (S1,), S4, True),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "make a field a union", B, (S1,), S6, True),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "take the union back", B, (S6,), S1, False),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "add a union branch", B, (S6,), S7, True),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "remove a union branch", B, (S7,), S6, False),
    History(f"{CONFLUENT}#testBasicBackwardsCompatibility", "drop a default: only the newest is checked",
            B, (S1, S2), S3, True),
    History(f"{CONFLUENT}#testBasicBackwardsTransitiveCompatibility", "fields added with defaults, one by one",
            BT, (S1, S2), S8, True),
    History(f"{CONFLUENT}#testBasicBackwardsTransitiveCompatibility", "drop a default after one", BT, (S2,), S3, True),
    History(f"{CONFLUENT}#testBasicBackwardsTransitiveCompatibility", "drop a default: the oldest breaks",
            BT, (S2, S1), S3, False),
    History(f"{CONFLUENT}#testBasicForwardsCompatibility", "add a field with a default", F, (S1,), S2, True),
    History(f"{CONFLUENT}#testBasicForwardsCompatibility", "add a field without a default", F, (S1,), S3, True),
    History(f"{CONFLUENT}#testBasicForwardsCompatibility", "drop the default", F, (S2,), S3, True),
    History(f"{CONFLUENT}#testBasicForwardsCompatibility", "add the default", F, (S3,), S2, True),
    History(f"{CONFLUENT}#testBasicForwardsCompatibility", "remove f2: only the newest is checked",
            F, (S3, S2), S1, True),
    History(f"{CONFLUENT}#testBasicForwardsTransitiveCompatibility", "fields removed that had defaults",
            FT, (S8, S2), S1, True),
    History(f"{CONFLUENT}#testBasicForwardsTransitiveCompatibility", "add a default", FT, (S3,), S2, True),
    History(f"{CONFLUENT}#testBasicForwardsTransitiveCompatibility", "remove a field with a default",
            FT, (S2,), S1, True),
    History(f"{CONFLUENT}#testBasicForwardsTransitiveCompatibility", "remove f2: the oldest has no default",
            FT, (S2, S3), S1, False),
    History(f"{CONFLUENT}#testBasicFullCompatibility", "add a field with a default", FU, (S1,), S2, True),
    History(f"{CONFLUENT}#testBasicFullCompatibility", "add f2 without default: only the newest is checked",
            FU, (S1, S2), S3, True),
    History(f"{CONFLUENT}#testBasicFullCompatibility", "remove f2: only the newest is checked",
            FU, (S3, S2), S1, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "fields added with defaults", FUT, (S1, S2), S8, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "fields removed that had defaults",
            FUT, (S8, S2), S1, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "add a default", FUT, (S3,), S2, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "remove a field with a default", FUT, (S2,), S1, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "add a field with a default", FUT, (S1,), S2, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "drop a default", FUT, (S2,), S3, True),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "f2 without default after f2 with, after none",
            FUT, (S2, S1), S3, False),
    History(f"{CONFLUENT}#testBasicFullTransitiveCompatibility", "remove f2 after it had no default",
            FUT, (S2, S3), S1, False),
    # One passing and one failing history of three or more revisions for each mode (NONE never fails).
    History(HUB, "drop a default after adding it: the newest reads", B, (S1, S2), S3, True),
    History(HUB, "f2 without default right after a revision without f2", B, (S2, S1), S3, False),
    History(HUB, "fields added with defaults, one by one", BT, (S1, S2), S8, True),
    History(HUB, "drop a default: v1 has no f2", BT, (S1, S2), S3, False),
    History(HUB, "remove f2: the newest had a default", F, (S3, S2), S1, True),
    History(HUB, "remove f2: the newest had none", F, (S2, S3), S1, False),
    History(HUB, "remove fields that all had defaults", FT, (S8, S2), S1, True),
    History(HUB, "remove f2: v1 had no default for it", FT, (S3, S2), S1, False),
    History(HUB, "add f2 without default: the newest has f2", FU, (S1, S2), S3, True),
    History(HUB, "add f2 without default: the newest lacks f2", FU, (S2, S1), S3, False),
    History(HUB, "fields added with defaults", FUT, (S1, S2), S8, True),
    History(HUB, "add f2 without default: v1 lacks f2", FUT, (S1, S2), S3, False),
    History(HUB, "anything follows anything", NONE, (S8, S2), S3, True),
]  # fmt: skip
