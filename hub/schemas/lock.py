"""Released revisions are frozen: the lock file, the frozen copies, and the gate every change passes.

``hub schemas release`` freezes each record whose working copy changed since its last released
revision, after checking it against the released revisions in the record's compatibility mode
(``schemas/compatibility.json``). ``hub schemas check`` (run by CI) fails when a frozen copy no longer
has its locked fingerprint (a released revision was edited), when a locked revision lost its copy, or
when a working copy is incompatible with what was released.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.schemas import CATALOGUE, EDITABLE_CATALOGUE
from hub.schemas.compatibility import Mode, check
from hub.schemas.parsing import InvalidSchema, Schema, validate
from hub.schemas.registry import (
    RELEASED,
    Registry,
    SchemaVersion,
    load_released,
    load_working_copies,
    read_schema,
)

LOCK_FILE = "lock.json"
MODES_FILE = "compatibility.json"


@dataclass(frozen=True)
class Problem:
    record: str
    text: str
    invalid: bool = False  # the schema is not valid Avro: nothing else about the catalogue can be judged

    def __str__(self) -> str:
        return f"{self.record}: {self.text}"


def read_lock(root: Path) -> dict[str, list[dict[str, Any]]]:
    path = root / LOCK_FILE
    if not path.exists():
        return {}
    lock: dict[str, list[dict[str, Any]]] = json.loads(path.read_text(encoding="utf-8"))["records"]
    return lock


def _write_lock(root: Path, lock: dict[str, list[dict[str, Any]]]) -> None:
    text = json.dumps({"records": dict(sorted(lock.items()))}, indent=2, ensure_ascii=False)
    (root / LOCK_FILE).write_text(text + "\n", encoding="utf-8")


def mode_of(root: Path, record: str) -> Mode:
    """The record's compatibility mode: its own entry, else the catalogue's default."""
    path = root / MODES_FILE
    modes = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    try:
        return Mode(modes.get("records", {}).get(record, modes.get("default", Mode.FULL_TRANSITIVE)))
    except ValueError as error:
        raise ConfigError(f"{path}: {error}") from None


def _frozen_problems(root: Path, lock: dict[str, list[dict[str, Any]]]) -> Iterator[Problem]:
    frozen = {(v.full_name, v.revision): v.fingerprint for v in load_released(root)}
    locked = {
        (name, entry["revision"]): entry["fingerprint"] for name, entries in lock.items() for entry in entries
    }
    for key, expected in sorted(locked.items()):
        actual = frozen.get(key)
        if actual is None:
            yield Problem(key[0], f"released revision {key[1]} has no frozen copy in schemas/{RELEASED}/")
        elif actual != expected:
            yield Problem(
                key[0], f"released revision {key[1]} was edited: fingerprint {actual}, locked {expected}"
            )
    for key in sorted(set(frozen) - set(locked)):
        yield Problem(key[0], f"revision {key[1]} is in schemas/{RELEASED}/ but not in {LOCK_FILE}")


def _compatibility_problems(root: Path, registry: Registry) -> Iterator[Problem]:
    for name in registry.names():
        released = registry.released(name)
        current = registry.current(name)
        if released and released[-1].fingerprint == current.fingerprint:
            continue
        mode = mode_of(root, name)
        for broken in check(mode, current.schema, [v.schema for v in released]):
            yield Problem(name, f"{mode}: {broken.path}: {broken.rule}")


def _invalid(record: str, where: str, schema: Schema) -> list[Problem]:
    """The schema's first breach of Avro's rules (record, field path, rule), by the hub's parser and
    then fastavro's; empty when it is valid."""
    try:
        validate(schema)
        SchemaVersion.of(schema, None)
    except InvalidSchema as error:
        return [Problem(record, f"{where} is not valid Avro: {error.path}: {error.rule}", invalid=True)]
    except ConfigError as error:
        return [Problem(record, f"{where} is not valid Avro: {error}", invalid=True)]
    return []


def invalid_schemas(root: Path) -> list[Problem]:
    """Working copies and frozen revisions that are not valid Avro schemas."""
    found: list[Problem] = []
    for name, schema in load_working_copies(root).items():
        found += _invalid(name, "the working copy", schema)
    for path in sorted((root / RELEASED).glob("*/*.avsc")):
        found += _invalid(path.parent.name, f"released revision {path.stem}", read_schema(path))
    return found


def problems(root: Path) -> list[Problem]:
    """Everything that stops the catalogue from shipping; empty when it may. Invalid schemas come alone:
    the other checks need every schema parsed."""
    invalid = invalid_schemas(root)
    if invalid:
        return invalid
    lock = read_lock(root)
    return [*_frozen_problems(root, lock), *_compatibility_problems(root, Registry.load(root))]


def pending(root: Path) -> list[str]:
    """Records whose working copy differs from their last released revision (or never released)."""
    registry = Registry.load(root)
    return [
        name
        for name in registry.names()
        if not registry.released(name)
        or registry.released(name)[-1].fingerprint != registry.current(name).fingerprint
    ]


def release(root: Path) -> list[SchemaVersion]:
    """Freeze every pending record as its next revision; refuses while any problem stands, and on the
    copy of the catalogue installed with the hub (releases are made in a checkout and shipped)."""
    if root.resolve() == CATALOGUE.resolve() and CATALOGUE.name != EDITABLE_CATALOGUE:
        raise ConfigError(f"{root} is the catalogue installed with the hub: release in a checkout's schemas/")
    found = problems(root)
    if found:
        raise ConfigError("cannot release: " + "; ".join(map(str, found)))
    lock = read_lock(root)
    working = load_working_copies(root)
    frozen = []
    for name in pending(root):
        revision = len(lock.get(name, [])) + 1
        version = SchemaVersion.of(working[name], revision)
        target = root / RELEASED / name / f"{revision}.avsc"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(version.schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        lock.setdefault(name, []).append({"revision": revision, "fingerprint": version.fingerprint})
        frozen.append(version)
    _write_lock(root, lock)
    return frozen
