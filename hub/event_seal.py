"""Canonical events leave the hub with their personal fields sealed under the dossier's data key.

Each value at a path the Avro catalogue marks ``"x-personal-data": true`` becomes one string (so the
record's schema and types stay as they are):

    hub-sealed:v1:<dossier code>:<base64url, unpadded, of hub.crypto.seal's output>

AES-256-GCM under the dossier's data key (the key the audit log seals with), bound by the associated
data to the dossier, the event id and the field's position (``applicant.id_number``,
``documents[0].reference``): a value moved to another field, event or dossier, or altered, fails to
open. Forgetting the dossier (``hub audit forget``) destroys that key, so its events on the stream, and
every copy a consumer made of them, can no longer be read. Only the hub opens them (``hub events open``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from hub.audit.personal import PersonalCatalogue, merge, split
from hub.crypto import KeyringError, new_data_key, open_sealed, seal

SEALED_PREFIX = "hub-sealed:v1:"


class DossierKeys(Protocol):
    def key_of(self, dossier: str) -> bytes | None:
        """The data key of ``dossier``, created and stored first when it has none; None once forgotten."""
        ...

    def prefetch(self, dossiers: Collection[str]) -> None:
        """Make ``key_of`` cheap for ``dossiers``: the inputs about to be judged name them."""
        ...


def seal_value(key: bytes, dossier: str, value: str, context: bytes) -> str:
    """``value`` in the sealed wire form."""
    sealed = seal(key, value.encode("utf-8"), context)
    return f"{SEALED_PREFIX}{dossier}:{base64.urlsafe_b64encode(sealed).decode('ascii').rstrip('=')}"


def sealed_dossier(text: str) -> str | None:
    """The dossier code a sealed value names; None when ``text`` is not in the sealed form."""
    if not text.startswith(SEALED_PREFIX):
        return None
    dossier, colon, _ = text.removeprefix(SEALED_PREFIX).rpartition(":")
    return dossier if colon and dossier else None


def open_value(key: bytes, text: str, context: bytes) -> str:
    """The value ``seal_value`` sealed; ``KeyringError`` when it is not in the form or does not open."""
    if sealed_dossier(text) is None:
        raise KeyringError("not a sealed value")
    encoded = text.rpartition(":")[2]
    try:
        sealed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise KeyringError("sealed value is not base64url") from None
    try:
        return open_sealed(key, sealed, context).decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError("sealed value is not UTF-8") from None


def event_context(dossier: str, event_id: str, position: str) -> bytes:
    """What one sealed field is bound to: its dossier, its event and where it sits in the record."""
    return f"event\x00{dossier}\x00{event_id}\x00{position}".encode()


class EventSealer:
    """Seals and opens the personal fields of canonical records, by the catalogue's markings."""

    def __init__(self, catalogue: PersonalCatalogue) -> None:
        self._catalogue = catalogue

    def seal(self, record: str, dossier: str, datum: Mapping[str, Any], keys: DossierKeys) -> dict[str, Any]:
        """``datum`` (with its header) with each personal value sealed under ``dossier``'s key."""
        clear, personal = split(datum, self._catalogue.for_record(record))
        if not personal:
            return dict(datum)
        # Forgotten: sealed under a key nobody keeps, so the value is gone as the stored ones are.
        key = keys.key_of(dossier) or new_data_key()
        event_id = str(datum["header"]["event_id"])
        sealed = {
            at: seal_value(key, dossier, _text(record, at, value), event_context(dossier, event_id, at))
            for at, value in personal.items()
        }
        result: dict[str, Any] = merge(clear, sealed)
        return result

    def open(self, record: str, dossier: str, datum: Mapping[str, Any], key: bytes) -> dict[str, Any]:
        """``datum`` as read from the stream, with its sealed values opened with ``key``; raises
        ``KeyringError`` when one does not open (another key, or altered)."""
        clear, sealed = split(datum, self._catalogue.for_record(record))
        event_id = str(datum["header"]["event_id"])
        opened = {
            at: open_value(key, _text(record, at, text), event_context(dossier, event_id, at))
            for at, text in sealed.items()
        }
        result: dict[str, Any] = merge(clear, opened)
        return result


def _text(record: str, position: str, value: Any) -> str:
    # The catalogue's personal fields are strings: tests/unit/test_event_seal.py holds it so.
    if not isinstance(value, str):
        raise TypeError(f"{record}: personal field {position} is not a string")
    return value


class KeysInMemory:
    """For tools and tests that process messages without a store (as ``hub.seen.NothingSeen``): a random
    key per dossier, held for the life of the object; ``forget`` drops one as ``hub audit forget`` does."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes | None] = {}

    def key_of(self, dossier: str) -> bytes | None:
        return self.keys.setdefault(dossier, new_data_key())

    def prefetch(self, dossiers: Collection[str]) -> None:
        """Nothing to fetch: a key is made when first asked for."""

    def forget(self, dossier: str) -> None:
        self.keys[dossier] = None
