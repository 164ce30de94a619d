"""Encryption at rest of dossiers' personal data: envelope encryption with AES-GCM.

Each dossier has its own random 32-byte data key; its personal fields are sealed under that key.
The data key is stored only wrapped (encrypted) by a master key from the settings, so:

- forgetting a dossier destroys one data key and its data can no longer be read anywhere, backups
  included (crypto-shredding), without finding and rewriting every copy of the data;
- rotating the master key re-wraps the small data keys and never touches the sealed data.

Additional authenticated data binds each ciphertext to where it belongs: a wrapped key to its
dossier and master key id, a sealed value to the caller's context (dossier code and field path), so
swapping blobs between dossiers or fields fails authentication instead of decrypting.

A keyed HMAC pseudonym of the citizen ID lets operators search by it without storing it in clear.
No error message here carries key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SEALED_VERSION = 0x01
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
_WRAP_LABEL = b"hub-data-key\x00"
_PSEUDONYM_LABEL = b"citizen-id\x00"


class KeyringError(Exception):
    """A key or a ciphertext is unusable; the message never holds key material or plaintext."""


def generate_key_text() -> str:
    """A new master key in the settings' text form (standard base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class WrappedKey:
    master_id: str
    blob: bytes  # nonce + ciphertext + tag


@dataclass(frozen=True)
class MasterKeyring:
    keys: Mapping[str, bytes] = field(repr=False)  # repr must not print keys
    active: str

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            _check_key_id(key_id)
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                raise KeyringError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
        if self.active not in self.keys:
            raise KeyringError(f"active master key {self.active!r} is not in the keyring")
        # A private read-only copy: the caller's dict cannot change the keyring afterwards.
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def from_text(cls, keys: Mapping[str, str], active: str) -> MasterKeyring:
        """A keyring from base64 texts (the settings' form)."""
        return cls({key_id: _decode_key_text(key_id, text) for key_id, text in keys.items()}, active)

    def wrap(self, dossier: str, data_key: bytes) -> WrappedKey:
        if len(data_key) != KEY_BYTES:
            raise KeyringError(f"a data key must be {KEY_BYTES} bytes")
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, data_key, _wrap_aad(self.active, dossier))
        return WrappedKey(self.active, nonce + sealed)

    def unwrap(self, dossier: str, wrapped: WrappedKey) -> bytes:
        master = self.keys.get(wrapped.master_id)
        if master is None:
            raise KeyringError(f"no master key {wrapped.master_id}")
        blob = wrapped.blob
        if len(blob) != NONCE_BYTES + KEY_BYTES + TAG_BYTES:
            raise KeyringError("data key of this dossier does not authenticate")
        try:
            return AESGCM(master).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], _wrap_aad(wrapped.master_id, dossier)
            )
        except InvalidTag:
            raise KeyringError("data key of this dossier does not authenticate") from None

    def rewrap(self, dossier: str, wrapped: WrappedKey) -> WrappedKey:
        """``wrapped`` under the active master key (itself when it already is)."""
        if wrapped.master_id == self.active:
            return wrapped
        return self.wrap(dossier, self.unwrap(dossier, wrapped))


def seal(data_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Version byte, random nonce, AES-GCM ciphertext; ``context`` is authenticated, not stored."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return bytes([SEALED_VERSION]) + nonce + _aead(data_key).encrypt(nonce, plaintext, context)


def open_sealed(data_key: bytes, sealed: bytes, context: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + TAG_BYTES:
        raise KeyringError("sealed value is too short")
    if sealed[0] != SEALED_VERSION:
        raise KeyringError(f"sealed value has unknown version {sealed[0]}")
    try:
        return _aead(data_key).decrypt(sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], context)
    except InvalidTag:
        raise KeyringError("sealed value does not authenticate (wrong key, context or altered)") from None


def seal_json(data_key: bytes, value: Any, context: bytes) -> bytes:
    return seal(data_key, orjson.dumps(value, option=orjson.OPT_SORT_KEYS), context)


def open_json(data_key: bytes, sealed: bytes, context: bytes) -> Any:
    plaintext = open_sealed(data_key, sealed, context)
    try:
        return json.loads(plaintext)
    except ValueError:
        # from None: JSONDecodeError keeps the whole document, which is personal data.
        raise KeyringError("sealed value is not JSON") from None


class Pseudonymizer:
    """Keyed, deterministic pseudonyms of citizen IDs: searchable, not reversible without the key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise KeyringError(f"a pseudonym key must be at least {KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymizer(<key hidden>)"

    def pseudonym(self, value: str) -> str:
        normalised = "".join(value.split())  # "001 203 004567" and "001203004567" are one ID
        message = _PSEUDONYM_LABEL + normalised.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _check_key_id(key_id: str) -> None:
    # fullmatch on an anchored class: the id goes into messages and AAD, so keep it plain.
    if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
        raise KeyringError("a master key id must be 1-32 characters of A-Z a-z 0-9 . _ -")


def _decode_key_text(key_id: str, text: str) -> bytes:
    _check_key_id(key_id)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"master key {key_id!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"master key {key_id!r} must decode to {KEY_BYTES} bytes, not {len(key)}")
    return key


def _wrap_aad(master_id: str, dossier: str) -> bytes:
    return _WRAP_LABEL + master_id.encode("ascii") + b"\x00" + dossier.encode("utf-8")


def _aead(data_key: bytes) -> AESGCM:
    if len(data_key) != KEY_BYTES:
        raise KeyringError(f"a data key must be {KEY_BYTES} bytes")
    return AESGCM(data_key)
