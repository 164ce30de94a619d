"""The partner documentation, generated from the code: ``docs/asyncapi.json``, ``docs/openapi.json`` (the
HTTP gateway, hub.docs.openapi) and ``docs/partners.md``.

Everything a partner sees comes from the code that enforces it, so the documents cannot drift:

- names of exchanges and queues, their types and arguments: ``hub.bus.topology``;
- ingress kinds and their bodies: each connector's routes (kind -> pydantic model), as JSON Schema;
- egress kinds: ``catalogue.EGRESS``, one row per (partner, kind) the hub emits today;
- header names: ``hub.envelope``; reason codes: ``hub.errors.Reason``, their meanings in
  ``catalogue.REASON_MEANINGS``;
- canonical events: the Avro schemas of the catalogue in ``schemas/``, on ``hub.events``.

``asyncapi.json`` is an AsyncAPI 3.0.0 document written from the partners' side: they *send* to
their ingress exchange and *receive* from their egress queue. ``partners.md`` is the same contract for
a developer to read. Output is byte-stable (fixed ordering), so ``hub docs --check`` can tell a stale
committed copy. A field is personal data when its JSON Schema (from the pydantic field's
``json_schema_extra``) carries ``"x-personal-data": true``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from hub.docs.asyncapi import asyncapi_document
from hub.docs.catalogue import (
    ASYNCAPI_FILE,
    AVRO_SCHEMA_FORMAT,
    PARTNERS_FILE,
    CanonicalEvent,
    catalogue,
    component_schemas,
    reason_meaning,
)
from hub.docs.openapi import OPENAPI_FILE, openapi_document
from hub.docs.page import field_rows, partners_page
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry

__all__ = [
    "ASYNCAPI_FILE",
    "AVRO_SCHEMA_FORMAT",
    "OPENAPI_FILE",
    "PARTNERS_FILE",
    "CanonicalEvent",
    "catalogue_events",
    "component_schemas",
    "field_rows",
    "reason_meaning",
    "render",
    "stale",
    "write",
]


def catalogue_events(root: Path = CATALOGUE) -> list[CanonicalEvent]:
    """The current version of every record of the canonical catalogue."""
    registry = Registry.load(root)
    return [
        CanonicalEvent(name, registry.current(name).fingerprint, registry.current(name).schema)
        for name in registry.names()
    ]


def render(canonical: Sequence[CanonicalEvent] | None = None) -> dict[str, str]:
    """File name -> content of every generated document (canonical events: the catalogue's)."""
    cat = catalogue(catalogue_events() if canonical is None else canonical)
    document = json.dumps(asyncapi_document(cat), indent=2, ensure_ascii=False) + "\n"
    gateway = json.dumps(openapi_document(cat), indent=2, ensure_ascii=False) + "\n"
    return {ASYNCAPI_FILE: document, OPENAPI_FILE: gateway, PARTNERS_FILE: partners_page(cat)}


def write(files: Mapping[str, str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(files: Mapping[str, str], out: Path) -> list[Path]:
    """The files under ``out`` that are missing or differ from what would be generated."""
    found: list[Path] = []
    for name, text in files.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            found.append(path)
    return found
