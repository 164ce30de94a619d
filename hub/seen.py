"""Which ingress messages the hub has forwarded: the committed ones (the ledger) and those in flight.

The contract's duplicate rule needs both: a partner that publishes a message twice in quick
succession must find the first one even before its ledger row is committed. The worker holds each
forwarded input while it is in flight and releases it once committed (the ledger has it) or
abandoned (it will be processed again).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Protocol

Key = tuple[str, str]  # (partner, message_id)
Loader = Callable[[str, str], str | None]  # (partner, message_id) -> body SHA-256 of the forwarded one
ManyLoader = Callable[[Collection[Key]], Mapping[Key, str]]  # the forwarded ones among them


class SeenView(Protocol):
    def body_hash(self, partner: str, message_id: str) -> str | None: ...


class SeenMessages:
    def __init__(self, load: Loader, load_many: ManyLoader | None = None) -> None:
        self._load = load
        self._load_many = load_many
        self._held: dict[Key, str] = {}
        self._keys: dict[int, Key] = {}  # token -> its key
        self._prefetched: set[Key] = set()  # looked up together; the forwarded ones in _committed
        self._committed: dict[Key, str] = {}

    def body_hash(self, partner: str, message_id: str) -> str | None:
        """The body hash of the message ``message_id`` that ``partner`` sent and the hub forwarded."""
        key = (partner, message_id)
        held = self._held.get(key)
        if held is not None:
            return held
        if key in self._prefetched:
            return self._committed.get(key)
        return self._load(partner, message_id)

    def prefetch(self, keys: Collection[Key]) -> None:
        """Look ``keys`` up in one query, for the inputs about to be judged; raises what the loader
        raises. Valid until ``forget_prefetched``: the caller commits nothing in between."""
        if self._load_many is None or not keys:
            return
        self._committed = dict(self._load_many(keys))
        self._prefetched = set(keys)

    def forget_prefetched(self) -> None:
        self._prefetched.clear()
        self._committed.clear()

    def hold(self, token: int, partner: str, message_id: str, body_hash: str) -> None:
        self._held[(partner, message_id)] = body_hash
        self._keys[token] = (partner, message_id)

    def release(self, token: int) -> None:
        key = self._keys.pop(token, None)
        if key is not None:
            self._held.pop(key, None)

    def release_all(self) -> None:
        self._held.clear()
        self._keys.clear()


class NothingSeen:
    """For tools and tests that process messages without a ledger."""

    def body_hash(self, partner: str, message_id: str) -> str | None:
        return None
