"""Schema compatibility: can data written with one Avro schema be read with another?

Contract
--------
``can_read(reader, writer)`` answers with the Avro specification's schema resolution rules and returns
every rule the pair breaks; an empty list means every datum ``writer`` can encode, ``reader`` can
decode. ``check(mode, new, previous)`` applies a registry compatibility mode to a new schema and the
previous versions (oldest first): BACKWARD means the new schema reads the newest previous version's
data, FORWARD that the newest previous version reads the new schema's data, FULL both; the
``_TRANSITIVE`` modes compare with every previous version instead of the newest only; NONE checks
nothing.

Schemas are JSON values as in ``.avsc`` files (a dict, a list for a union, a string for a type name).
Named types may be defined inline and referred to later by name; a name without a dot takes the
namespace of the enclosing definition (failing that, the null namespace), and aliases without a dot
take the namespace of the type they alias. Each schema has its own name table, so the reader's and
the writer's names never mix.

Resolution rules (reader against writer):

* primitives: the same type, or a promotion: int->long/float/double, long->float/double,
  float->double, string<->bytes; logical types are annotations and do not take part;
* records, enums and fixed: the reader's full name equals the writer's, or one of the reader's
  aliases is the writer's full name; so moving a type to another namespace needs an alias;
* records: each reader field is found in the writer by its name or one of its aliases, or else needs
  a default; writer fields the reader lacks are skipped; field types are resolved recursively;
* enums: every writer symbol is a reader symbol, unless the reader declares an enum ``default``;
* fixed: equal sizes; arrays: items resolve; maps: values resolve;
* unions: each branch of a writer union must resolve; a reader union reads a writer branch with its
  first branch that matches it (same primitive or promotion, same kind and name for named types).

A :class:`Incompatibility` names the top-level record, a path such as ``DossierSubmitted.DiaChi.hoVaTen``
(field names from the top-level record; ``[]`` for array items, ``{}`` for map values) and the rule
broken. It never holds a value. A schema that is not valid Avro (an unknown or redefined type name, a
missing ``name``) raises :class:`hub.errors.ConfigError`. Recursive types terminate: a pair of named
types already being compared is assumed to resolve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

from hub.errors import ConfigError

Schema: TypeAlias = dict[str, Any] | list[Any] | str
"""An Avro schema as parsed JSON."""

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
PROMOTIONS: Mapping[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
_PROMOTION_TEXT = "int->long/float/double, long->float/double, float->double, string<->bytes"


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


# --- the parsed form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Primitive:
    name: str


@dataclass(frozen=True)
class _Ref:
    """A named type, looked up in its schema's name table (this is how recursion is represented)."""

    name: str


@dataclass(frozen=True)
class _Array:
    items: _Node


@dataclass(frozen=True)
class _Map:
    values: _Node


@dataclass(frozen=True)
class _Union:
    branches: tuple[_Node, ...]


@dataclass(frozen=True)
class _Field:
    name: str
    aliases: tuple[str, ...]
    type: _Node
    has_default: bool


@dataclass(frozen=True)
class _Record:
    name: str
    aliases: frozenset[str]
    fields: tuple[_Field, ...]


@dataclass(frozen=True)
class _Enum:
    name: str
    aliases: frozenset[str]
    symbols: tuple[str, ...]
    default: str | None


@dataclass(frozen=True)
class _Fixed:
    name: str
    aliases: frozenset[str]
    size: int


_Named: TypeAlias = _Record | _Enum | _Fixed
_Resolved: TypeAlias = _Primitive | _Array | _Map | _Union | _Named
_Node: TypeAlias = _Resolved | _Ref


@dataclass(frozen=True)
class _Parsed:
    root: _Node
    names: Mapping[str, _Named]

    def resolve(self, node: _Node) -> _Resolved:
        return self.names[node.name] if isinstance(node, _Ref) else node


def _qualify(name: str, namespace: str) -> str:
    """A full name: ``name`` itself when it has a dot or there is no namespace."""
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _namespace_of(full_name: str) -> str:
    return full_name.rpartition(".")[0]


def _simple(full_name: str) -> str:
    return full_name.rpartition(".")[2]


def _text(schema: Mapping[str, Any], key: str) -> str:
    value = schema.get(key)
    if not isinstance(value, str):
        raise ConfigError(f"Avro schema: {key!r} must be a string in {sorted(schema)}")
    return value


def _strings(schema: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = schema.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"Avro schema: {key!r} must be a list of strings")
    return tuple(values)


@dataclass
class _Parser:
    """Walks one schema, giving each named type its full name and keeping the schema's name table."""

    names: dict[str, _Named] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)

    def parse(self, schema: object, namespace: str) -> _Node:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return _Union(tuple(self.parse(branch, namespace) for branch in schema))
        if isinstance(schema, dict):
            return self._complex(schema, namespace)
        raise ConfigError(f"Avro schema: expected a type name, a union or an object, got {schema!r}")

    def _reference(self, name: str, namespace: str) -> _Node:
        if name in PRIMITIVES:
            return _Primitive(name)
        for candidate in (_qualify(name, namespace), name):
            if candidate in self.defined:
                return _Ref(candidate)
        raise ConfigError(f"Avro schema: unknown type {name!r}; define a named type before referring to it")

    def _complex(self, schema: Mapping[str, Any], namespace: str) -> _Node:
        kind = schema.get("type")
        builder = self._builders().get(kind) if isinstance(kind, str) else None
        if builder is not None:
            return builder(schema, namespace)
        return self.parse(kind, namespace)  # {"type": "long", "logicalType": ...} and the like

    def _builders(self) -> Mapping[str, Callable[[Mapping[str, Any], str], _Node]]:
        return {
            "record": self._record,
            "error": self._record,
            "enum": self._enum,
            "fixed": self._fixed,
            "array": lambda s, ns: _Array(self.parse(s.get("items"), ns)),
            "map": lambda s, ns: _Map(self.parse(s.get("values"), ns)),
        }

    def _define(self, schema: Mapping[str, Any], enclosing: str) -> tuple[str, frozenset[str]]:
        """Claim the type's full name (before its body, so it may refer to itself); return its aliases."""
        name = _text(schema, "name")
        full_name = _qualify(name, schema.get("namespace", enclosing) or "")
        if full_name in self.defined:
            raise ConfigError(f"Avro schema: type {full_name!r} is defined twice")
        self.defined.add(full_name)
        own = _namespace_of(full_name)
        return full_name, frozenset(_qualify(alias, own) for alias in _strings(schema, "aliases"))

    def _register(self, named: _Named) -> _Ref:
        self.names[named.name] = named
        return _Ref(named.name)

    def _record(self, schema: Mapping[str, Any], enclosing: str) -> _Node:
        full_name, aliases = self._define(schema, enclosing)
        raw_fields = schema.get("fields")
        if not isinstance(raw_fields, list):
            raise ConfigError(f"Avro schema: record {full_name!r} needs a list of 'fields'")
        fields = tuple(self._field(f, _namespace_of(full_name)) for f in raw_fields)
        return self._register(_Record(full_name, aliases, fields))

    def _field(self, raw: object, namespace: str) -> _Field:
        if not isinstance(raw, dict):
            raise ConfigError(f"Avro schema: a record field must be an object, got {raw!r}")
        field_type = self.parse(raw.get("type"), namespace)
        return _Field(_text(raw, "name"), _strings(raw, "aliases"), field_type, "default" in raw)

    def _enum(self, schema: Mapping[str, Any], enclosing: str) -> _Node:
        full_name, aliases = self._define(schema, enclosing)
        default = schema.get("default")
        symbols = _strings(schema, "symbols")
        return self._register(_Enum(full_name, aliases, symbols, default if default in symbols else None))

    def _fixed(self, schema: Mapping[str, Any], enclosing: str) -> _Node:
        full_name, aliases = self._define(schema, enclosing)
        size = schema.get("size")
        if not isinstance(size, int):
            raise ConfigError(f"Avro schema: fixed {full_name!r} needs an integer 'size'")
        return self._register(_Fixed(full_name, aliases, size))


def _parse(schema: Schema) -> _Parsed:
    parser = _Parser()
    root = parser.parse(schema, "")
    return _Parsed(root, parser.names)


# --- resolution -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    path: str  # relative to the schema being compared: "" for itself, ".field", "[]", "{}"
    rule: str


def _under(prefix: str, problems: Iterable[_Problem]) -> list[_Problem]:
    return [_Problem(prefix + p.path, p.rule) for p in problems]


def _promotes(writer: str, reader: str) -> bool:
    return writer == reader or reader in PROMOTIONS.get(writer, frozenset())


def _knows(reader: _Named, writer_name: str) -> bool:
    """Named types match by the reader's full name or one of its (qualified) aliases."""
    return writer_name == reader.name or writer_name in reader.aliases


def _matches(reader: _Resolved, writer: _Resolved) -> bool:
    """The spec's shallow "match", which picks the branch of a reader union that reads a writer value."""
    match reader, writer:
        case _Primitive(), _Primitive():
            return _promotes(writer.name, reader.name)
        case _Fixed(), _Fixed():
            return _knows(reader, writer.name) and reader.size == writer.size
        case _Record(), _Record():
            return _knows(reader, writer.name)
        case _Enum(), _Enum():
            return _knows(reader, writer.name)
    return isinstance(reader, _Array | _Map) and type(reader) is type(writer)


def _describe(node: _Resolved) -> str:
    match node:
        case _Primitive():
            return f"'{node.name}'"
        case _Record() | _Enum() | _Fixed():
            return f"{type(node).__name__.lstrip('_').lower()} '{node.name}'"
        case _Array():
            return "an array"
        case _Map():
            return "a map"
    return "a union"


@dataclass(frozen=True)
class _Roles:
    """How rules name the two schemas, e.g. "the new schema" and "previous version 1 of 3"."""

    reader: str
    writer: str


class _Resolver:
    """Compares a reader schema with a writer schema, rule by rule, collecting what breaks."""

    def __init__(self, reader: _Parsed, writer: _Parsed, roles: _Roles) -> None:
        self._reader = reader
        self._writer = writer
        self._roles = roles
        self._active: set[tuple[str, str]] = set()
        self._done: dict[tuple[str, str], list[_Problem]] = {}

    def compare(self, reader_node: _Node, writer_node: _Node) -> list[_Problem]:
        reader, writer = self._reader.resolve(reader_node), self._writer.resolve(writer_node)
        if isinstance(writer, _Union):
            return [p for branch in writer.branches for p in self.compare(reader, branch)]
        if isinstance(reader, _Union):
            return self._pick_branch(reader, writer)
        return self._same_kind(reader, writer)

    def _pick_branch(self, reader: _Union, writer: _Resolved) -> list[_Problem]:
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

    def _same_kind(self, reader: _Resolved, writer: _Resolved) -> list[_Problem]:
        match reader, writer:
            case _Primitive(), _Primitive() if _promotes(writer.name, reader.name):
                return []
            case _Array(), _Array():
                return _under("[]", self.compare(reader.items, writer.items))
            case _Map(), _Map():
                return _under("{}", self.compare(reader.values, writer.values))
        if isinstance(reader, _Named) and isinstance(writer, _Named) and type(reader) is type(writer):
            return self._named(reader, writer)
        return [_Problem("", self._mismatch(reader, writer))]

    def _mismatch(self, reader: _Resolved, writer: _Resolved) -> str:
        roles = self._roles
        return (
            f"{roles.writer} has {_describe(writer)} where {roles.reader} has {_describe(reader)}: "
            f"Avro reads a value only as the same type or by promotion ({_PROMOTION_TEXT})"
        )

    def _named(self, reader: _Named, writer: _Named) -> list[_Problem]:
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

    def _rename_rule(self, reader: _Named, writer: _Named) -> str:
        roles, kind = self._roles, _describe(reader).split(" ")[0]
        if _simple(reader.name) == _simple(writer.name):
            return (
                f"{kind} '{_simple(writer.name)}' moved from namespace '{_namespace_of(writer.name)}' in "
                f"{roles.writer} to '{_namespace_of(reader.name)}' in {roles.reader} without an alias "
                f"'{writer.name}': named types match by full name or a reader alias"
            )
        return (
            f"{kind} '{writer.name}' in {roles.writer} is '{reader.name}' in {roles.reader}, whose aliases "
            f"do not name '{writer.name}': named types match by full name or a reader alias"
        )

    def _named_body(self, reader: _Named, writer: _Named) -> list[_Problem]:
        match reader, writer:
            case _Record(), _Record():
                return [p for f in reader.fields for p in self._field(f, writer)]
            case _Enum(), _Enum():
                return self._symbols(reader, writer)
            case _Fixed(), _Fixed() if reader.size != writer.size:
                return [_Problem("", self._size_rule(reader, writer))]
        return []

    def _size_rule(self, reader: _Fixed, writer: _Fixed) -> str:
        roles = self._roles
        return (
            f"fixed '{reader.name}' has size {writer.size} in {roles.writer} but {reader.size} in "
            f"{roles.reader}: sizes must be equal"
        )

    def _field(self, reader_field: _Field, writer: _Record) -> list[_Problem]:
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

    def _symbols(self, reader: _Enum, writer: _Enum) -> list[_Problem]:
        if reader.default is not None:
            return []
        roles = self._roles
        return [
            _Problem(
                "",
                f"symbol '{symbol}' of enum '{writer.name}' in {roles.writer} is not a symbol in "
                f"{roles.reader}, which has no enum default to read it as",
            )
            for symbol in writer.symbols
            if symbol not in reader.symbols
        ]


def _find_field(writer: _Record, reader_field: _Field) -> _Field | None:
    """The writer's field for a reader field: by the reader field's name, then by its aliases in order."""
    by_name = {f.name: f for f in writer.fields}
    for name in (reader_field.name, *reader_field.aliases):
        if name in by_name:
            return by_name[name]
    return None


# --- the API ----------------------------------------------------------------------------------------


def _root_name(parsed: _Parsed) -> str:
    root = parsed.resolve(parsed.root)
    return root.name if isinstance(root, _Named) else _describe(root)


def _report(reader: _Parsed, writer: _Parsed, roles: _Roles, record: str) -> list[Incompatibility]:
    problems = _Resolver(reader, writer, roles).compare(reader.root, writer.root)
    return [Incompatibility(record, _simple(record) + p.path, p.rule) for p in problems]


def can_read(reader: Schema, writer: Schema) -> list[Incompatibility]:
    """Every rule broken when data written with ``writer`` is read with ``reader``; empty if none."""
    parsed_reader = _parse(reader)
    roles = _Roles("the reader's schema", "the writer's schema")
    return _report(parsed_reader, _parse(writer), roles, _root_name(parsed_reader))


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
    parsed_new = _parse(new)
    record = _root_name(parsed_new)
    first = 0 if mode.endswith("_TRANSITIVE") else max(len(previous) - 1, 0)
    problems: list[Incompatibility] = []
    for index in range(first, len(previous)):
        label = f"previous version {index + 1} of {len(previous)}"
        problems += _both_ways(mode, parsed_new, _parse(previous[index]), label, record)
    return problems


def _both_ways(mode: Mode, new: _Parsed, old: _Parsed, old_label: str, record: str) -> list[Incompatibility]:
    backward, forward = _DIRECTIONS[mode]
    problems: list[Incompatibility] = []
    if backward:
        problems += _report(new, old, _Roles("the new schema", old_label), record)
    if forward:
        problems += _report(old, new, _Roles(old_label, "the new schema"), record)
    return problems
