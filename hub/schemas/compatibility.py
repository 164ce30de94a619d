"""Schema compatibility: can data written with one Avro schema be read with another?

Contract
--------
``can_read(reader, writer)`` answers with the Avro specification's schema resolution rules and returns
every rule the pair breaks; an empty list means every datum ``writer`` can encode, ``reader`` can
decode. ``check(mode, new, previous)`` applies a registry compatibility mode to a new schema and the
previous versions (oldest first): BACKWARD means the new schema reads the newest previous version's
data, FORWARD that the newest previous version reads the new schema's data, FULL both; the
``_TRANSITIVE`` modes compare with every previous version instead of the newest only; NONE checks
nothing. How schemas are parsed and what makes one invalid: :mod:`hub.schemas.parsing`.

Resolution rules (reader against writer), from the Avro specification, section "Schema Resolution"
(https://avro.apache.org/docs/current/specification/#schema-resolution), which says the two
schemas must *match*, where among others "both schemas are enums whose (unqualified) names match",
"both schemas are fixed whose sizes and (unqualified) names match", "both schemas are records with
the same (unqualified) name":

* primitives: the same type, or a promotion: int->long/float/double, long->float/double,
  float->double, string<->bytes; logical types other than decimal are annotations and do not take
  part;
* records, enums and fixed match by their UNQUALIFIED names: ``ns1.Point`` reads ``ns2.Point`` and
  ``Point``; a namespace never takes part. A type may also be renamed with a reader alias that names
  the writer's full name ("Aliases": an alias without a dot is relative to the namespace of the type
  it aliases, so ``"aliases": ["Person"]`` on ``ns.Citizen`` names ``ns.Person``), as Java's
  ``SchemaCompatibility`` does;
* records: each reader field is found in the writer by its name or one of its aliases, or else needs
  a default; writer fields the reader lacks are skipped; field types are resolved recursively;
* enums: every writer symbol is a reader symbol, unless the reader declares an enum ``default``;
* fixed: equal sizes; arrays: items resolve; maps: values resolve;
* decimals: the underlying types resolve as above (a decimal on fixed matches only a fixed of the same
  unqualified name and size; fixed and bytes never match), and when reader and writer are both
  decimals their precision and scale are equal ("Logical Types", "Decimal": "two schemas that are
  decimal logical types match if their scales and precisions match"; a missing scale is 0). A
  decimal on one side only resolves as its underlying type, since the other side declares no
  logical type to disagree with. fastavro decodes a decimal with another scale without complaint and
  yields the writer's number, which a reader that applies its own scale would misread: the gate
  refuses it;
* unions: each branch of a writer union must resolve; a reader union reads a writer branch with its
  first branch that matches it (same primitive or promotion, same kind and unqualified name or alias
  for named types, equal decimals), as the specification says and fastavro, the hub's reader, does
  (Java's resolver prefers a branch with the writer's full name, then one of the same structure).

A :class:`Incompatibility` names the top-level record, a path such as ``DossierSubmitted.DiaChi.hoVaTen``
(field names from the top-level record; ``[]`` for array items, ``{}`` for map values) and the rule
broken. It never holds a value. A schema that is not valid Avro raises
:class:`hub.schemas.parsing.InvalidSchema` (a :class:`hub.errors.ConfigError`). Recursive types
terminate: a pair of named types already being compared is assumed to resolve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hub.schemas.parsing import (
    Array,
    Decimal,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Node,
    Parsed,
    Primitive,
    Record,
    Resolved,
    Schema,
    Union,
    parse,
    simple,
)

__all__ = ["Incompatibility", "Mode", "Schema", "can_read", "check"]

PROMOTIONS: Mapping[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_PROMOTION_TEXT = "int->long/float/double, long->float/double, float->double, string<->bytes"
_NAME_RULE = "named types match by unqualified name or a reader alias naming the writer's full name"


class Mode(StrEnum):
    """Registry compatibility modes, as in Confluent's schema registry."""

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"


@dataclass(frozen=True)
class Incompatibility:
    """One broken resolution rule: where (``path`` from the top-level ``record``) and which (``rule``)."""

    record: str
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}"


# --- resolution -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    path: str  # relative to the schema being compared: "" for itself, ".field", "[]", "{}"
    rule: str


def _under(prefix: str, problems: Iterable[_Problem]) -> list[_Problem]:
    return [_Problem(prefix + p.path, p.rule) for p in problems]


def _promotes(writer: str, reader: str) -> bool:
    return writer == reader or reader in PROMOTIONS.get(writer, frozenset())


def _knows(reader: Named, writer_name: str) -> bool:
    """Named types match by unqualified name, or by a reader alias naming the writer's full name."""
    return simple(writer_name) == simple(reader.name) or writer_name in reader.aliases


def _decimals_agree(reader: Decimal | None, writer: Decimal | None) -> bool:
    """Two decimals match only with equal precision and scale; a decimal on one side only does not
    take part (the other side reads or wrote the underlying type)."""
    return reader is None or writer is None or reader == writer


def _matches(reader: Resolved, writer: Resolved) -> bool:
    """The spec's shallow "match", which picks the branch of a reader union that reads a writer value."""
    match reader, writer:
        case Primitive(), Primitive():
            return _promotes(writer.name, reader.name) and _decimals_agree(reader.decimal, writer.decimal)
        case Fixed(), Fixed():
            return (
                _knows(reader, writer.name)
                and reader.size == writer.size
                and _decimals_agree(reader.decimal, writer.decimal)
            )
        case Record(), Record():
            return _knows(reader, writer.name)
        case Enum(), Enum():
            return _knows(reader, writer.name)
    return isinstance(reader, Array | Map) and type(reader) is type(writer)


def _describe(node: Resolved) -> str:
    match node:
        case Primitive():
            return f"'{node.name}'" + (f" {node.decimal}" if node.decimal else "")
        case Fixed():
            return f"fixed '{node.name}'" + (f" {node.decimal}" if node.decimal else "")
        case Record() | Enum():
            return f"{type(node).__name__.lower()} '{node.name}'"
        case Array():
            return "an array"
        case Map():
            return "a map"
    return "a union"


@dataclass(frozen=True)
class _Roles:
    """How rules name the two schemas, e.g. "the new schema" and "previous version 1 of 3"."""

    reader: str
    writer: str


class _Resolver:
    """Compares a reader schema with a writer schema, rule by rule, collecting what breaks."""

    def __init__(self, reader: Parsed, writer: Parsed, roles: _Roles) -> None:
        self._reader = reader
        self._writer = writer
        self._roles = roles
        self._active: set[tuple[str, str]] = set()
        self._done: dict[tuple[str, str], list[_Problem]] = {}

    def compare(self, reader_node: Node, writer_node: Node) -> list[_Problem]:
        reader, writer = self._reader.resolve(reader_node), self._writer.resolve(writer_node)
        if isinstance(writer, Union):
            return [p for branch in writer.branches for p in self.compare(reader, branch)]
        if isinstance(reader, Union):
            return self._pick_branch(reader, writer)
        return self._same_kind(reader, writer)

    def _pick_branch(self, reader: Union, writer: Resolved) -> list[_Problem]:
        for branch in map(self._reader.resolve, reader.branches):
            if _matches(branch, writer):
                return self.compare(branch, writer)
        branches = ", ".join(_describe(self._reader.resolve(b)) for b in reader.branches)
        roles = self._roles
        return [
            _Problem(
                "",
                f"{roles.writer} writes {_describe(writer)}, which no branch of the union in "
                f"{roles.reader} ({branches}) reads",
            )
        ]

    def _same_kind(self, reader: Resolved, writer: Resolved) -> list[_Problem]:
        match reader, writer:
            case Primitive(), Primitive() if _promotes(writer.name, reader.name):
                return self._decimals(reader.decimal, writer.decimal, f"'{reader.name}'")
            case Array(), Array():
                return _under("[]", self.compare(reader.items, writer.items))
            case Map(), Map():
                return _under("{}", self.compare(reader.values, writer.values))
        if isinstance(reader, Named) and isinstance(writer, Named) and type(reader) is type(writer):
            return self._named(reader, writer)
        return [_Problem("", self._mismatch(reader, writer))]

    def _mismatch(self, reader: Resolved, writer: Resolved) -> str:
        roles = self._roles
        return (
            f"{roles.writer} has {_describe(writer)} where {roles.reader} has {_describe(reader)}: "
            f"Avro reads a value only as the same type or by promotion ({_PROMOTION_TEXT})"
        )

    def _decimals(self, reader: Decimal | None, writer: Decimal | None, what: str) -> list[_Problem]:
        if _decimals_agree(reader, writer):
            return []
        roles = self._roles
        return [
            _Problem(
                "",
                f"{what} is {writer} in {roles.writer} but {reader} in {roles.reader}: two decimals "
                "match only with equal precision and scale",
            )
        ]

    def _named(self, reader: Named, writer: Named) -> list[_Problem]:
        if not _knows(reader, writer.name):
            return [_Problem("", self._rename_rule(reader, writer))]
        key = (reader.name, writer.name)
        if key in self._active:
            return []  # a recursive type meets itself: assume it resolves, the outer comparison decides
        if key not in self._done:
            self._active.add(key)
            self._done[key] = self._named_body(reader, writer)
            self._active.discard(key)
        return list(self._done[key])

    def _rename_rule(self, reader: Named, writer: Named) -> str:
        roles, kind = self._roles, type(reader).__name__.lower()
        return (
            f"{kind} '{writer.name}' in {roles.writer} is '{reader.name}' in {roles.reader}, whose aliases "
            f"do not name '{writer.name}': {_NAME_RULE}"
        )

    def _named_body(self, reader: Named, writer: Named) -> list[_Problem]:
        match reader, writer:
            case Record(), Record():
                return [p for f in reader.fields for p in self._field(f, writer)]
            case Enum(), Enum():
                return self._symbols(reader, writer)
            case Fixed(), Fixed() if reader.size != writer.size:
                return [_Problem("", self._size_rule(reader, writer))]
            case Fixed(), Fixed():
                return self._decimals(reader.decimal, writer.decimal, f"fixed '{reader.name}'")
        return []

    def _size_rule(self, reader: Fixed, writer: Fixed) -> str:
        roles = self._roles
        return (
            f"fixed '{reader.name}' has size {writer.size} in {roles.writer} but {reader.size} in "
            f"{roles.reader}: sizes must be equal"
        )

    def _field(self, reader_field: Field, writer: Record) -> list[_Problem]:
        path = f".{reader_field.name}"
        writer_field = _find_field(writer, reader_field)
        if writer_field is not None:
            return _under(path, self.compare(reader_field.type, writer_field.type))
        if reader_field.has_default:
            return []
        roles = self._roles
        return [
            _Problem(
                path,
                f"field '{reader_field.name}' is in {roles.reader} without a default but not in "
                f"{roles.writer}: data written with {roles.writer} has no value for it",
            )
        ]

    def _symbols(self, reader: Enum, writer: Enum) -> list[_Problem]:
        missing = [symbol for symbol in writer.symbols if symbol not in reader.symbols]
        if reader.default is not None or not missing:
            return []
        roles, listed = self._roles, ", ".join(f"'{symbol}'" for symbol in missing)
        return [
            _Problem(
                "",
                f"symbol{'s' if len(missing) > 1 else ''} {listed} of enum '{writer.name}' in {roles.writer} "
                f"{'are not symbols' if len(missing) > 1 else 'is not a symbol'} in {roles.reader}, which "
                "has no enum default to read them as",
            )
        ]


def _find_field(writer: Record, reader_field: Field) -> Field | None:
    """The writer's field for a reader field: by the reader field's name, then by its aliases in order."""
    by_name = {f.name: f for f in writer.fields}
    for name in (reader_field.name, *reader_field.aliases):
        if name in by_name:
            return by_name[name]
    return None


# --- the API ----------------------------------------------------------------------------------------


def _report(reader: Parsed, writer: Parsed, roles: _Roles, record: str) -> list[Incompatibility]:
    problems = _Resolver(reader, writer, roles).compare(reader.root, writer.root)
    return [Incompatibility(record, simple(record) + p.path, p.rule) for p in problems]


def can_read(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Every rule broken when data written with ``writer`` is read with ``reader``; empty if none."""
    parsed_reader = parse(reader)
    roles = _Roles("the reader's schema", "the writer's schema")
    return _report(parsed_reader, parse(writer), roles, parsed_reader.root_name())


_DIRECTIONS: Mapping[Mode, tuple[bool, bool]] = {  # (new reads previous, previous reads new)
    Mode.BACKWARD: (True, False),
    Mode.BACKWARD_TRANSITIVE: (True, False),
    Mode.FORWARD: (False, True),
    Mode.FORWARD_TRANSITIVE: (False, True),
    Mode.FULL: (True, True),
    Mode.FULL_TRANSITIVE: (True, True),
    Mode.NONE: (False, False),
}


def check(mode: Mode, new: Schema, previous: Sequence[Schema]) -> list[Incompatibility]:
    """What ``mode`` forbids in ``new`` given ``previous`` (oldest first); empty if ``new`` may follow."""
    parsed_new = parse(new)
    record = parsed_new.root_name()
    first = 0 if mode.endswith("_TRANSITIVE") else max(len(previous) - 1, 0)
    problems: list[Incompatibility] = []
    for index in range(first, len(previous)):
        label = f"previous version {index + 1} of {len(previous)}"
        problems += _both_ways(mode, parsed_new, parse(previous[index]), label, record)
    return problems


def _both_ways(mode: Mode, new: Parsed, old: Parsed, old_label: str, record: str) -> list[Incompatibility]:
    backward, forward = _DIRECTIONS[mode]
    problems: list[Incompatibility] = []
    if backward:
        problems += _report(new, old, _Roles("the new schema", old_label), record)
    if forward:
        problems += _report(old, new, _Roles(old_label, "the new schema"), record)
    return problems
