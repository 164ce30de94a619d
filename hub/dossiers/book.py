"""The dossier book: committed dossiers plus the changes of inputs still in flight.

Translations read dossiers through the book, so a step sees the steps of the same dossier that
arrived just before it even when their ledger batch has not committed yet. The worker holds each
input's changes while it is in flight and releases them once they are committed (they are then in
the store) or abandoned (the input goes back to its queue and will be processed again).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from hub.dossiers.records import Change, Dossier, with_changes

Loader = Callable[[str], Dossier | None]
ManyLoader = Callable[[Collection[str]], Mapping[str, Dossier]]  # the committed ones among the codes


class DossierView(Protocol):
    def get(self, code: str) -> Dossier | None: ...


class DossierBook:
    def __init__(self, load: Loader, load_many: ManyLoader | None = None) -> None:
        self._load = load
        self._load_many = load_many
        self._held: dict[str, dict[int, Sequence[Change]]] = {}  # dossier -> token -> its changes
        self._codes: dict[int, set[str]] = {}  # token -> the dossiers it changes
        self._prefetched: set[str] = set()  # loaded together; the committed ones in _committed
        self._committed: dict[str, Dossier] = {}

    def get(self, code: str) -> Dossier | None:
        pending = [c for changes in self._held.get(code, {}).values() for c in changes if c.code == code]
        return with_changes(self._committed_dossier(code), pending)

    def _committed_dossier(self, code: str) -> Dossier | None:
        if code in self._prefetched:
            return self._committed.get(code)
        return self._load(code)

    def prefetch(self, codes: Collection[str]) -> None:
        """Load ``codes`` in one go, for the inputs about to be judged; raises what the loader raises.
        Valid until ``forget_prefetched``: the caller commits nothing in between."""
        if self._load_many is None or not codes:
            return
        self._committed = dict(self._load_many(codes))
        self._prefetched = set(codes)

    def forget_prefetched(self) -> None:
        self._prefetched.clear()
        self._committed.clear()

    def hold(self, token: int, changes: Sequence[Change]) -> None:
        for code in {change.code for change in changes}:
            self._held.setdefault(code, {})[token] = changes
            self._codes.setdefault(token, set()).add(code)

    def release(self, token: int) -> None:
        for code in self._codes.pop(token, ()):
            held = self._held[code]
            del held[token]
            if not held:
                del self._held[code]

    def release_all(self) -> None:
        self._held.clear()
        self._codes.clear()


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
