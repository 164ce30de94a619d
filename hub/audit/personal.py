"""Which parts of a message are personal data, and splitting a payload into its clear and personal parts.

The markings come from where the contract's fields are defined: ``"x-personal-data": true`` in the
Avro catalogue and ``json_schema_extra=PERSONAL`` on the partners' pydantic models (ingress routes and
the egress catalogue), which the entry points hand in (``hub.app.audit_entries``). A path is dotted
(``DiaChiNhanKetQua``, ``applicant.id_number``); a path through a list applies to each of its items.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from hub.schemas.registry import Registry

PERSONAL_MARK = "x-personal-data"
MASK = "***"
Paths = frozenset[str]


def model_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the personal fields of ``model`` and of the models nested in it, by the names
    the JSON carries (a field renamed with an alias: the alias)."""
    for attribute, info in model.model_fields.items():
        name = info.alias or attribute
        extra = info.json_schema_extra
        if isinstance(extra, Mapping) and extra.get(PERSONAL_MARK):
            yield f"{prefix}{name}"
            continue
        for nested in _models_in(info.annotation):
            yield from model_paths(nested, f"{prefix}{name}.")


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            yield from _models_in(argument)


class PersonalCatalogue:
    """Personal paths by JSON message (partner, kind) and by canonical record."""

    def __init__(
        self, registry: Registry, messages: Mapping[tuple[str, str], Iterable[type[BaseModel]]]
    ) -> None:
        """``messages``: the models of each JSON message by (partner, kind); a message with several
        (one per contract version) has every version's markings: a path a body lacks matches nothing."""
        self._registry = registry
        self._json = {
            message: frozenset(path for model in models for path in model_paths(model))
            for message, models in messages.items()
        }
        self._records: dict[str, Paths] = {}

    def for_json(self, partner: str, kind: str) -> Paths | None:
        """The personal paths of a JSON message; None for a message the catalogue does not know
        (then the whole payload is personal)."""
        return self._json.get((partner, kind))

    def declared(self) -> dict[str, Paths]:
        """The personal paths of every message the catalogue knows, by name: ``partner kind`` for a JSON
        message, the full name for a canonical record (docs/privacy.md lists them, field by field)."""
        named = {f"{partner} {kind}": paths for (partner, kind), paths in self._json.items()}
        return {**named, **{name: self.for_record(name) for name in self._registry.names()}}

    def for_record(self, full_name: str) -> Paths:
        if full_name not in self._records:
            self._records[full_name] = self._registry.personal_fields(full_name)
        return self._records[full_name]


def split(payload: Any, paths: Paths) -> tuple[Any, dict[str, Any]]:
    """``payload`` with each personal value replaced by ``MASK``, and those values by path (a path
    through a list is keyed ``path[i]``); the input is not modified."""
    splitter = _Splitter(paths)
    return splitter.split(payload, "", ""), splitter.personal


@functools.cache
def _prefixes(paths: Paths) -> frozenset[str]:
    """Every dotted prefix of ``paths``, with its dot: where a personal value may still be below."""
    return frozenset(path[: i + 1] for path in paths for i, char in enumerate(path) if char == ".")


class _Splitter:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.below = _prefixes(paths)
        self.personal: dict[str, Any] = {}

    def split(self, value: Any, at: str, pattern: str) -> Any:
        """``at`` is the position with list indices (``a[0].b.``), ``pattern`` the same without them
        (``a.b.``): markings name patterns, the personal part is keyed by position."""
        if isinstance(value, dict):
            clear: dict[str, Any] = {}
            for key, item in value.items():
                if f"{pattern}{key}" in self.paths and item is not None:
                    self.personal[f"{at}{key}"] = item
                    clear[key] = MASK
                elif f"{pattern}{key}." in self.below:
                    clear[key] = self.split(item, f"{at}{key}.", f"{pattern}{key}.")
                else:
                    clear[key] = item  # nothing personal under here: kept as it is, not copied
            return clear
        if isinstance(value, list):
            base = at.removesuffix(".")
            return [self.split(item, f"{base}[{i}].", pattern) for i, item in enumerate(value)]
        return value


def merge(clear: Any, personal: Mapping[str, Any]) -> Any:
    """The payload again: ``clear`` with the personal values put back (the inverse of ``split``)."""
    return _merge(clear, "", personal)


def _merge(value: Any, at: str, personal: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {
            key: personal[f"{at}{key}"] if f"{at}{key}" in personal else _merge(item, f"{at}{key}.", personal)
            for key, item in value.items()
        }
    if isinstance(value, list):
        base = at.removesuffix(".")
        return [_merge(item, f"{base}[{i}].", personal) for i, item in enumerate(value)]
    return value
