"""The dossier book: committed dossiers plus the changes of inputs still in flight.

Translations read dossiers through the book, so a step sees the steps of the same dossier that
arrived just before it even when their ledger batch has not committed yet. The worker holds each
input's changes while it is in flight and releases them once they are committed (they are then in
the store) or abandoned (the input goes back to its queue and will be processed again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from hub.dossiers.records import Change, Dossier, with_changes

Loader = Callable[[str], Dossier | None]


class DossierView(Protocol):
    def get(self, code: str) -> Dossier | None: ...


class DossierBook:
    def __init__(self, load: Loader) -> None:
        self._load = load
        self._held: dict[int, Sequence[Change]] = {}

    def get(self, code: str) -> Dossier | None:
        pending = [c for changes in self._held.values() for c in changes if c.code == code]
        return with_changes(self._load(code), pending)

    def hold(self, token: int, changes: Sequence[Change]) -> None:
        if changes:
            self._held[token] = changes

    def release(self, token: int) -> None:
        self._held.pop(token, None)

    def release_all(self) -> None:
        self._held.clear()


class MemoryDossiers:
    """Dossiers kept in a dict: a loader for unit tests and tools without a database."""

    def __init__(self) -> None:
        self._dossiers: dict[str, Dossier] = {}

    def load(self, code: str) -> Dossier | None:
        return self._dossiers.get(code)

    def apply(self, changes: Sequence[Change]) -> None:
        for change in changes:
            updated = with_changes(self._dossiers.get(change.code), [change])
            if updated is not None:
                self._dossiers[change.code] = updated
