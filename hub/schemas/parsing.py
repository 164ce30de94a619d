"""Avro schemas as the compatibility checker sees them: parsed, named, and validated.

Schemas are JSON values as in ``.avsc`` files (a dict, a list for a union, a string for a type name).
Named types may be defined inline and referred to later by name; a name without a dot takes the
namespace of the enclosing definition (failing that, the null namespace), and aliases without a dot
take the namespace of the type they alias (specification, "Aliases"). Each schema has its own name
table, so a reader's and a writer's names never mix.

A schema that is not valid Avro raises :class:`InvalidSchema` (a :class:`hub.errors.ConfigError`)
naming the top-level record, the field path and the rule: an unknown or redefined type name, a missing
``name``, and an enum ``default`` that is not one of the enum's symbols (specification, "Enums": "The
value provided here must be a JSON string that's a member of the symbols array"; fastavro's parser
refuses it too, without saying where); also names and symbols that break the specification's syntax
("Names": ``[A-Za-z_][A-Za-z0-9_]*``, dotted for a full name; no type named like a primitive, in
any namespace), duplicate symbols or field names, and a union holding
two branches of the same kind (two named types only if their full names differ) or another union.

Decimals (logical type ``decimal`` on ``bytes`` or ``fixed``) keep their precision and scale (scale 0
when absent). One that the specification calls invalid (precision not a positive integer, scale
negative or above the precision, a precision that the fixed size cannot hold) is ignored, as the
specification says ("Logical Types": "implementations should ignore the logical type and use the
underlying Avro type"), and so is every other logical type: they do not change the encoding. The
catalogue's gate (:func:`validate`) refuses an invalid decimal instead: fastavro does not ignore it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hub.errors import ConfigError

Schema: TypeAlias = dict[str, Any] | list[Any] | str
"""An Avro schema as parsed JSON."""

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InvalidSchema(ConfigError):
    """Not a valid Avro schema: ``record`` (the top-level type), ``path`` in it and the ``rule`` broken."""

    def __init__(self, record: str, path: str, rule: str) -> None:
        super().__init__(f"invalid Avro schema {record}: {path}: {rule}")
        self.record = record
        self.path = path
        self.rule = rule


@dataclass(frozen=True)
class Decimal:
    precision: int
    scale: int

    def __str__(self) -> str:
        return f"decimal({self.precision}, {self.scale})"


@dataclass(frozen=True)
class Primitive:
    name: str
    decimal: Decimal | None = None  # only on bytes


@dataclass(frozen=True)
class Ref:
    """A named type, looked up in its schema's name table (this is how recursion is represented)."""

    name: str


@dataclass(frozen=True)
class Array:
    items: Node


@dataclass(frozen=True)
class Map:
    values: Node


@dataclass(frozen=True)
class Union:
    branches: tuple[Node, ...]


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    type: Node
    has_default: bool


@dataclass(frozen=True)
class Record:
    name: str
    aliases: frozenset[str]
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Enum:
    name: str
    aliases: frozenset[str]
    symbols: tuple[str, ...]
    default: str | None


@dataclass(frozen=True)
class Fixed:
    name: str
    aliases: frozenset[str]
    size: int
    decimal: Decimal | None = None


Named: TypeAlias = Record | Enum | Fixed
Resolved: TypeAlias = Primitive | Array | Map | Union | Named
Node: TypeAlias = Resolved | Ref


@dataclass(frozen=True)
class Parsed:
    root: Node
    names: Mapping[str, Named]

    def resolve(self, node: Node) -> Resolved:
        return self.names[node.name] if isinstance(node, Ref) else node

    def root_name(self) -> str:
        root = self.resolve(self.root)
        return root.name if isinstance(root, Named | Primitive) else type(root).__name__.lower()


def qualify(name: str, namespace: str) -> str:
    """A full name: ``name`` itself when it has a dot or there is no namespace."""
    return name if "." in name or not namespace else f"{namespace}.{name}"


def namespace_of(full_name: str) -> str:
    return full_name.rpartition(".")[0]


def simple(full_name: str) -> str:
    return full_name.rpartition(".")[2]


def _max_digits(size: int) -> int:
    """Decimal digits a fixed of ``size`` bytes holds: floor(log10(2^(8 size - 1) - 1))."""
    return math.floor(math.log10(2 ** (8 * size - 1) - 1)) if size > 0 else 0


def _decimal_error(schema: Mapping[str, Any], fixed_size: int | None) -> str | None:
    """What makes a declared decimal invalid ("Logical Types", "Decimal"), or None when it is valid."""
    precision, scale = schema.get("precision"), schema.get("scale", 0)
    if type(precision) is not int or precision < 1:
        return f"decimal precision {precision!r} is not a positive integer"
    if type(scale) is not int or not 0 <= scale <= precision:
        return f"decimal scale {scale!r} is not an integer from 0 to the precision {precision}"
    if fixed_size is not None and precision > _max_digits(fixed_size):
        return f"decimal precision {precision} does not fit a fixed of {fixed_size} bytes"
    return None


@dataclass
class _Parser:
    """Walks one schema, giving each named type its full name and keeping the schema's name table."""

    names: dict[str, Named] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    path: list[str] = field(default_factory=list)  # from the top-level type: "Dossier", ".status", "[]"
    strict_decimals: bool = False  # refuse an invalid decimal instead of ignoring it
    root: str = "(schema)"  # the top-level type's full name, once known

    def invalid(self, rule: str) -> InvalidSchema:
        return InvalidSchema(self.root, "".join(self.path) or simple(self.root), rule)

    def parse(self, schema: object, namespace: str) -> Node:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, namespace)
        if isinstance(schema, dict):
            return self._complex(schema, namespace)
        raise self.invalid(f"expected a type name, a union or an object, got {schema!r}")

    def _union(self, schema: list[Any], namespace: str) -> Node:
        branches = tuple(self.parse(branch, namespace) for branch in schema)
        kinds = [self._kind(branch) for branch in branches]
        if "union" in kinds:
            raise self.invalid("a union may not immediately contain another union (Avro specification)")
        repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if repeated:
            raise self.invalid(
                f"a union holds {repeated[0]} more than once: a union may not contain two schemas of the "
                "same type, except named types of different names (Avro specification, Unions)"
            )
        return Union(branches)

    def _kind(self, node: Node) -> str:
        """What a union branch is, for the rule that no two branches may be the same."""
        if isinstance(node, Ref):
            return f"the type '{node.name}'"
        return f"'{node.name}'" if isinstance(node, Primitive) else type(node).__name__.lower()

    def _reference(self, name: str, namespace: str) -> Node:
        if name in PRIMITIVES:
            return Primitive(name)
        for candidate in (qualify(name, namespace), name):
            if candidate in self.defined:
                return Ref(candidate)
        raise self.invalid(f"unknown type {name!r}; define a named type before referring to it")

    def _complex(self, schema: Mapping[str, Any], namespace: str) -> Node:
        kind = schema.get("type")
        builder = self._builders().get(kind) if isinstance(kind, str) else None
        if builder is not None:
            return builder(schema, namespace)
        if kind == "bytes":
            return Primitive("bytes", self._decimal(schema))
        return self.parse(kind, namespace)  # {"type": "long", "logicalType": ...} and the like

    def _builders(self) -> Mapping[str, Callable[[Mapping[str, Any], str], Node]]:
        return {
            "record": self._record,
            "error": self._record,
            "enum": self._enum,
            "fixed": self._fixed,
            "array": lambda s, ns: Array(self._nested("[]", s.get("items"), ns)),
            "map": lambda s, ns: Map(self._nested("{}", s.get("values"), ns)),
        }

    def _nested(self, step: str, schema: object, namespace: str) -> Node:
        self.path.append(step)
        try:
            return self.parse(schema, namespace)
        finally:
            self.path.pop()

    def _text(self, schema: Mapping[str, Any], key: str) -> str:
        value = schema.get(key)
        if not isinstance(value, str):
            raise self.invalid(f"{key!r} must be a string in an object with keys {sorted(schema)}")
        return value

    def _strings(self, schema: Mapping[str, Any], key: str) -> tuple[str, ...]:
        values = schema.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.invalid(f"{key!r} must be a list of strings")
        return tuple(values)

    def _define(self, schema: Mapping[str, Any], enclosing: str) -> tuple[str, frozenset[str]]:
        """Claim the type's full name (before its body, so it may refer to itself); return its aliases."""
        name = self._text(schema, "name")
        full_name = qualify(name, schema.get("namespace", enclosing) or "")
        if not all(_NAME.fullmatch(part) for part in full_name.split(".")) or simple(full_name) in PRIMITIVES:
            raise self.invalid(
                f"{full_name!r} is not a valid name: [A-Za-z_][A-Za-z0-9_]* per dotted part, and not a "
                "primitive type's name (Avro specification, Names)"
            )
        if full_name in self.defined:
            raise self.invalid(f"type {full_name!r} is defined twice")
        self.defined.add(full_name)
        if not self.path:
            self.root = full_name
            self.path.append(simple(full_name))
        own = namespace_of(full_name)
        return full_name, frozenset(qualify(alias, own) for alias in self._strings(schema, "aliases"))

    def _register(self, named: Named) -> Ref:
        self.names[named.name] = named
        return Ref(named.name)

    def _record(self, schema: Mapping[str, Any], enclosing: str) -> Node:
        full_name, aliases = self._define(schema, enclosing)
        raw_fields = schema.get("fields")
        if not isinstance(raw_fields, list):
            raise self.invalid(f"record {full_name!r} needs a list of 'fields'")
        fields = tuple(self._field(f, namespace_of(full_name)) for f in raw_fields)
        names = [f.name for f in fields]
        bad = [n for n in names if not _NAME.fullmatch(n)] + sorted({n for n in names if names.count(n) > 1})
        if bad:
            raise self.invalid(
                f"record {full_name!r} has the field {bad[0]!r} twice or badly spelled: field names are "
                "unique and match [A-Za-z_][A-Za-z0-9_]* (Avro specification, Names)"
            )
        return self._register(Record(full_name, aliases, fields))

    def _field(self, raw: object, namespace: str) -> Field:
        if not isinstance(raw, dict):
            raise self.invalid(f"a record field must be an object, got {raw!r}")
        name = self._text(raw, "name")
        field_type = self._nested(f".{name}", raw.get("type"), namespace)
        return Field(name, self._strings(raw, "aliases"), field_type, "default" in raw)

    def _enum(self, schema: Mapping[str, Any], enclosing: str) -> Node:
        full_name, aliases = self._define(schema, enclosing)
        symbols = self._strings(schema, "symbols")
        self._check_symbols(full_name, symbols)
        default = schema.get("default")
        if "default" in schema and default not in symbols:
            raise self.invalid(
                f"enum '{full_name}' has the default {default!r}, which is not one of its symbols "
                f"{list(symbols)}: an enum default must be a member of the symbols array "
                "(Avro specification, Complex Types, Enums)"
            )
        return self._register(Enum(full_name, aliases, symbols, default))

    def _check_symbols(self, full_name: str, symbols: tuple[str, ...]) -> None:
        misspelt = [s for s in symbols if not _NAME.fullmatch(s)]
        bad = misspelt + sorted(s for s in set(symbols) if symbols.count(s) > 1)
        if bad:
            raise self.invalid(
                f"enum '{full_name}' has the symbol {bad[0]!r} twice or badly spelled: symbols are unique "
                "and match [A-Za-z_][A-Za-z0-9_]* (Avro specification, Enums)"
            )

    def _fixed(self, schema: Mapping[str, Any], enclosing: str) -> Node:
        full_name, aliases = self._define(schema, enclosing)
        size = schema.get("size")
        if type(size) is not int or size < 0:
            raise self.invalid(f"fixed {full_name!r} needs a non-negative integer 'size'")
        return self._register(Fixed(full_name, aliases, size, self._decimal(schema, size)))

    def _decimal(self, schema: Mapping[str, Any], fixed_size: int | None = None) -> Decimal | None:
        """The decimal ``schema`` declares; None when it declares none, or an invalid one (ignored)."""
        if schema.get("logicalType") != "decimal":
            return None
        error = _decimal_error(schema, fixed_size)
        if error is None:
            return Decimal(schema["precision"], schema.get("scale", 0))
        if self.strict_decimals:
            raise self.invalid(f"{error} (Avro specification, Logical Types, Decimal)")
        return None


def parse(schema: Schema, *, strict_decimals: bool = False) -> Parsed:
    """``schema`` parsed; raises :class:`InvalidSchema` when it is not valid Avro."""
    parser = _Parser(strict_decimals=strict_decimals)
    root = parser.parse(schema, "")
    return Parsed(root, parser.names)


def validate(schema: Schema) -> None:
    """Raise :class:`InvalidSchema` when ``schema`` is not valid Avro (see the module's docstring), or
    declares an invalid decimal: the catalogue refuses those, since fastavro, the hub's reader, does
    not ignore them as the specification says (it refuses some and fails reading others)."""
    parse(schema, strict_decimals=True)
