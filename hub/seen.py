"""Which ingress messages the hub has forwarded: the committed ones (the ledger) and those in flight.

The contract's duplicate rule needs both: a partner that publishes a message twice in quick
succession must find the first one even before its ledger row is committed. The worker holds each
forwarded input while it is in flight and releases it once committed (the ledger has it) or
abandoned (it will be processed again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Loader = Callable[[str, str], str | None]  # (partner, message_id) -> body SHA-256 of the forwarded one


class SeenView(Protocol):
    def body_hash(self, partner: str, message_id: str) -> str | None: ...


class SeenMessages:
    def __init__(self, load: Loader) -> None:
        self._load = load
        self._held: dict[tuple[str, str], str] = {}
        self._keys: dict[int, tuple[str, str]] = {}  # token -> its key

    def body_hash(self, partner: str, message_id: str) -> str | None:
        """The body hash of the message ``message_id`` that ``partner`` sent and the hub forwarded."""
        return self._held.get((partner, message_id)) or self._load(partner, message_id)

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
