"""The schema registry: the canonical event catalogue in ``schemas/``, fingerprinted and resolvable.

Layout of the catalogue (one file per record, the major version in the namespace)::

    schemas/<namespace>/<Record>.avsc              working copies; may reference each other by name
    schemas/released/<full name>/<revision>.avsc   frozen, self-contained copies of released revisions
    schemas/lock.json                              fingerprints of the released revisions

Each version is identified on the wire by the Rabin fingerprint (CRC-64-AVRO) of its parsing
canonical form, as 16 hex digits in header ``x-hub-schema-fingerprint``. Decoding takes the writer
schema from that fingerprint and resolves it against the reader's schema (Avro schema resolution).
Fields holding personal data carry ``"x-personal-data": true`` in the schema itself.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, fingerprint, parse_schema, to_parsing_canonical_form

from hub.errors import ConfigError, Reason, Rejection

PERSONAL_DATA = "x-personal-data"
HEADER_SCHEMA = "x-hub-schema"
HEADER_FINGERPRINT = "x-hub-schema-fingerprint"
CONTENT_TYPE_AVRO = "application/vnd.apache.avro+binary"
SHARED_NAMESPACE_PREFIX = "hub.common."
RELEASED = "released"

Schema = Any  # Avro schema as JSON: a dict, a list (union) or a string (type name)


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a record: a released revision, or the working copy (``revision`` None)."""

    full_name: str
    revision: int | None
    schema: Schema  # self-contained: every named type it uses is defined inside
    parsed: Any
    fingerprint: str

    @classmethod
    def of(cls, schema: Schema, revision: int | None) -> SchemaVersion:
        try:
            parsed = parse_schema(copy.deepcopy(schema), named_schemas={})
        except SchemaParseException as error:  # fastavro's own rules, beyond those hub.schemas.parsing names
            name = schema.get("name", "(schema)") if isinstance(schema, dict) else "(schema)"
            raise ConfigError(f"invalid Avro schema {name}: {error}") from None
        canonical = to_parsing_canonical_form(parsed)
        full_name = json.loads(canonical)["name"]
        return cls(full_name, revision, schema, parsed, fingerprint(canonical, "CRC-64-AVRO"))


def _full_name(schema: Mapping[str, Any], enclosing: str | None) -> str:
    name = str(schema["name"])
    namespace = schema.get("namespace", enclosing)
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _named_definitions(schema: Schema, enclosing: str | None = None) -> Iterator[tuple[str, Schema]]:
    if isinstance(schema, list):
        for branch in schema:
            yield from _named_definitions(branch, enclosing)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            full = _full_name(schema, enclosing)
            yield full, schema
            enclosing = full.rpartition(".")[0] or None
        for field in schema.get("fields", ()):
            yield from _named_definitions(field["type"], enclosing)
        for key in ("items", "values"):
            if key in schema:
                yield from _named_definitions(schema[key], enclosing)


class _Expander:
    """Inlines named types from other files at their first use, so that a schema stands alone."""

    def __init__(self, library: Mapping[str, Schema]) -> None:
        self._library = library
        self._defined: set[str] = set()

    def expand(self, schema: Schema, enclosing: str | None) -> Schema:
        if isinstance(schema, str):
            return self._reference(schema, enclosing)
        if isinstance(schema, list):
            return [self.expand(branch, enclosing) for branch in schema]
        if not isinstance(schema, dict):
            return schema
        result = dict(schema)
        if schema.get("type") in ("record", "enum", "fixed"):
            full = _full_name(schema, enclosing)
            self._defined.add(full)
            enclosing = full.rpartition(".")[0] or None
        if "fields" in schema:
            result["fields"] = [{**f, "type": self.expand(f["type"], enclosing)} for f in schema["fields"]]
        for key in ("items", "values"):
            if key in schema:
                result[key] = self.expand(schema[key], enclosing)
        return result

    def _reference(self, name: str, enclosing: str | None) -> Schema:
        full = name if "." in name or enclosing is None else f"{enclosing}.{name}"
        if full not in self._library or full in self._defined:
            return name  # a primitive, or a type already defined earlier in this schema
        definition = dict(self._library[full])
        definition.setdefault("namespace", full.rpartition(".")[0])
        return self.expand(definition, enclosing)


def read_schema(path: Path) -> Schema:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"schema {path}: {error}") from None


def load_working_copies(root: Path) -> dict[str, Schema]:
    """Every event record of the catalogue, expanded to stand alone, by full name."""
    files = sorted(p for p in root.glob("*/*.avsc") if p.parent.name != RELEASED)
    library: dict[str, Schema] = {}
    for path in files:
        for full, definition in _named_definitions(read_schema(path)):
            library[full] = definition
    events = [path for path in files if not path.parent.name.startswith(SHARED_NAMESPACE_PREFIX)]
    expanded = {}
    for path in events:
        schema = read_schema(path)
        expanded[_full_name(schema, None)] = _Expander(library).expand(schema, None)
    return expanded


def load_released(root: Path) -> list[SchemaVersion]:
    released = root / RELEASED
    return [
        SchemaVersion.of(read_schema(path), int(path.stem))
        for path in sorted(released.glob("*/*.avsc"), key=lambda p: (p.parent.name, int(p.stem)))
    ]


class Registry:
    """Schema versions by name and by fingerprint; encodes and decodes canonical events."""

    def __init__(self, working: Mapping[str, SchemaVersion], released: Iterable[SchemaVersion]) -> None:
        self._working = dict(working)
        self._released = list(released)
        self._by_fingerprint = {v.fingerprint: v for v in [*self._released, *self._working.values()]}

    @classmethod
    def load(cls, root: Path) -> Registry:
        """The catalogue under ``root``; one without records is an error, never an empty registry (a
        hub without its catalogue would fail every message, and a check of nothing would pass)."""
        working = {name: SchemaVersion.of(schema, None) for name, schema in load_working_copies(root).items()}
        if not working:
            raise ConfigError(f"schema catalogue {root}: no records (no <namespace>/<Record>.avsc files)")
        return cls(working, load_released(root))

    def names(self) -> list[str]:
        return sorted(self._working)

    def current(self, full_name: str) -> SchemaVersion:
        return self._working[full_name]

    def released(self, full_name: str) -> list[SchemaVersion]:
        """Released revisions of ``full_name``, oldest first."""
        return [v for v in self._released if v.full_name == full_name]

    def find(self, fingerprint_hex: str) -> SchemaVersion:
        version = self._by_fingerprint.get(fingerprint_hex)
        if version is None:
            raise Rejection(Reason.UNKNOWN_SCHEMA, f"headers.{HEADER_FINGERPRINT}: not a schema of this hub")
        return version

    def encode(self, full_name: str, datum: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """``datum`` in the current version's binary encoding, with the headers that name it."""
        version = self._working[full_name]
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, version.parsed, datum)
        return buffer.getvalue(), {HEADER_SCHEMA: full_name, HEADER_FINGERPRINT: version.fingerprint}

    def decode(self, payload: bytes, fingerprint_hex: str, reader: SchemaVersion | None = None) -> Any:
        """Read ``payload`` written with the version ``fingerprint_hex`` names, as ``reader`` sees it
        (by default the current version of the same record)."""
        writer = self.find(fingerprint_hex)
        reader = reader or self._working.get(writer.full_name, writer)
        return fastavro.schemaless_reader(io.BytesIO(payload), writer.parsed, reader.parsed)

    def personal_fields(self, full_name: str) -> frozenset[str]:
        """Dotted paths of the fields marked as personal data, e.g. ``applicant.id_number``."""
        schema = self._working[full_name].schema
        return frozenset(_personal_paths(schema, "", dict(_named_definitions(schema))))


def _personal_paths(schema: Schema, prefix: str, named: Mapping[str, Schema]) -> Iterator[str]:
    if isinstance(schema, str) and schema in named:
        yield from _personal_paths(named[schema], prefix, named)
    elif isinstance(schema, list):
        for branch in schema:
            yield from _personal_paths(branch, prefix, named)
    elif isinstance(schema, dict):
        for field in schema.get("fields", ()):
            path = f"{prefix}{field['name']}"
            if field.get(PERSONAL_DATA):
                yield path
            yield from _personal_paths(field["type"], f"{path}.", named)
        if "items" in schema:
            yield from _personal_paths(schema["items"], prefix, named)
