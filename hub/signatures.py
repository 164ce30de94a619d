"""Signed messages: Ed25519 over a message's id, timestamp and body, both ways.

A partner may sign what it publishes (per partner: ``off``, ``optional`` or ``required``); the hub
checks the signature with the envelope, before the body is parsed, and dead-letters a message whose
signature is missing (when required), unreadable, made with a key it does not list, or does not
verify, or whose timestamp is too old or too far ahead, as ``bad_signature``. The hub signs what it
publishes on egress the same way, with its own key, so partners can check it came from the hub.

The signed bytes are ``LABEL || message_id || NUL || timestamp || NUL || body``: the label keeps a
message signature from passing for any other Ed25519 signature (the audit checkpoints'), the
message id is printable ASCII and the timestamp decimal digits, so neither holds a NUL and the body,
last, needs no length. Headers: ``x-hub-signature`` (standard base64 of the 64-byte signature) and
``x-hub-key-id`` (which of the signer's public keys). Listing several key ids of a partner at once is
a rotation's overlap: both verify until the old one is removed.

A replayed message (the same id again) passes the signature, which is the partner's: the duplicate
check after it acknowledges it without forwarding it again (same body) or dead-letters it
``conflicting_duplicate`` (another body). The timestamp bounds how long a captured message could be
replayed at all. Texts never quote a signature, a key or the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from hub.envelope import HEADER_REPLAYED_FROM_USER, Delivery, Properties
from hub.errors import Reason, Rejection

HEADER_SIGNATURE = "x-hub-signature"
HEADER_KEY_ID = "x-hub-key-id"
LABEL = b"hub-message-signature-v1\x00"
SIGNATURE_BYTES = 64
KEY_BYTES = 32
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
_MAX_SIGNATURE_TEXT = 100  # base64 of 64 bytes is 88 characters; anything longer is not one


class SignatureMode(StrEnum):
    """What the hub asks of one partner's ingress messages."""

    OFF = "off"  # signatures are neither needed nor checked
    OPTIONAL = "optional"  # a signed message is checked; an unsigned one is accepted
    REQUIRED = "required"  # every message must carry a signature that verifies


class SigningKeyError(ValueError):
    """A key in the settings cannot be read; the text names the setting, never the key."""


def signed_bytes(message_id: str, timestamp: int, body: bytes) -> bytes:
    """The exact bytes a message signature covers."""
    return LABEL + message_id.encode() + b"\x00" + str(timestamp).encode() + b"\x00" + body


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A public key's default id: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(raw_public(public_key)).hexdigest()[:16]


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_text(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public(public_key)).decode("ascii")


def private_key_text(private_key: Ed25519PrivateKey) -> str:
    """The 32-byte seed in standard base64: what the signer keeps secret."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(seed).decode("ascii")


def private_key_from_text(text: str, setting: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_decode(text, setting))


def public_key_from_text(text: str, setting: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_decode(text, setting))


def _decode(text: str, setting: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{setting}: not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise SigningKeyError(f"{setting}: base64 of {KEY_BYTES} bytes expected, not {len(raw)}")
    return raw


class Signer:
    """Signs messages with one private key, named by ``key_id`` in the ``x-hub-key-id`` header."""

    __slots__ = ("_private_key", "key_id", "public_key")

    def __init__(self, private_key: Ed25519PrivateKey, key_id: str | None = None) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id or key_id_of(self.public_key)
        if KEY_ID.fullmatch(self.key_id) is None:
            raise SigningKeyError("a signing key id must be 1-32 characters of A-Z a-z 0-9 . _ -")

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id})"

    def headers(self, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The two headers that sign this message."""
        signature = self._private_key.sign(signed_bytes(message_id, timestamp, body))
        return {HEADER_SIGNATURE: base64.b64encode(signature).decode("ascii"), HEADER_KEY_ID: self.key_id}

    def sign(self, properties: Properties, body: bytes) -> Properties:
        """``properties`` with the signature headers added (message id and timestamp must be set)."""
        assert properties.message_id is not None
        assert properties.timestamp is not None
        signed = {**properties.headers, **self.headers(properties.message_id, properties.timestamp, body)}
        return replace(properties, headers=signed)


@dataclass(frozen=True)
class PartnerKeys:
    """One partner's signature mode and the public keys it may sign with, by key id."""

    mode: SignatureMode
    keys: Mapping[str, Ed25519PublicKey]


@dataclass(frozen=True)
class Freshness:
    """How far a signed message's timestamp may lie from the hub's clock when it was received."""

    max_age_seconds: float
    max_ahead_seconds: float


class Verifier:
    """Checks the signatures of ingress messages, partner by partner (``check``)."""

    def __init__(
        self, partners: Mapping[str, PartnerKeys], freshness: Freshness, replay_users: frozenset[str]
    ) -> None:
        self._partners = MappingProxyType(dict(partners))
        self._freshness = freshness
        self._replay_users = replay_users

    def mode(self, partner: str) -> SignatureMode:
        found = self._partners.get(partner)
        return SignatureMode.OFF if found is None else found.mode

    def check(self, delivery: Delivery, received_ms: int) -> None:
        """Raise ``Rejection(bad_signature)`` unless ``delivery``'s signature is acceptable.

        ``received_ms``: when the hub first took the message off its ingress. Call after the
        properties were checked (message id and timestamp present and well formed).
        """
        partner = self._partners.get(delivery.partner)
        if partner is None or partner.mode is SignatureMode.OFF:
            return
        headers = delivery.properties.headers
        if HEADER_SIGNATURE not in headers and HEADER_KEY_ID not in headers:
            if partner.mode is SignatureMode.REQUIRED:
                raise _bad(f"headers.{HEADER_SIGNATURE}: required on ingress.{delivery.partner}")
            return
        key = partner.keys.get(_text(headers.get(HEADER_KEY_ID)) or "")
        if key is None:
            raise _bad(f"headers.{HEADER_KEY_ID}: not a key listed for {delivery.partner}")
        signature = _signature(headers.get(HEADER_SIGNATURE))
        p = delivery.properties
        message_id, timestamp = p.message_id or "", p.timestamp or 0
        try:
            key.verify(signature, signed_bytes(message_id, timestamp, delivery.body))
        except InvalidSignature:
            raise _bad(
                f"headers.{HEADER_SIGNATURE}: does not verify (message_id, timestamp or body altered, "
                "or signed with another key)"
            ) from None
        if not self._replayed_by_operator(delivery):
            self._check_fresh(timestamp, received_ms)

    def _replayed_by_operator(self, delivery: Delivery) -> bool:
        """An operator's replay of a dead letter (``hub dead-letters replay``) is judged again
        however old it is: the operator vouches for when, the signature still for what."""
        user = delivery.properties.user_id
        return user in self._replay_users and HEADER_REPLAYED_FROM_USER in delivery.properties.headers

    def _check_fresh(self, timestamp: int, received_ms: int) -> None:
        age = received_ms / 1000 - timestamp
        if age > self._freshness.max_age_seconds:
            limit = self._freshness.max_age_seconds
            raise _bad(f"properties.timestamp: older than {limit:g} seconds when received (stale)")
        if -age > self._freshness.max_ahead_seconds:
            limit = self._freshness.max_ahead_seconds
            raise _bad(f"properties.timestamp: more than {limit:g} seconds ahead of the hub's clock")


def _bad(detail: str) -> Rejection:
    return Rejection(Reason.BAD_SIGNATURE, detail)


def _text(value: object) -> str | None:
    """A header's text; pika hands a long string over as bytes when it is not UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _signature(value: object) -> bytes:
    text = _text(value)
    if text is None or len(text) > _MAX_SIGNATURE_TEXT:
        raise _bad(f"headers.{HEADER_SIGNATURE}: standard base64 of a 64-byte Ed25519 signature expected")
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != SIGNATURE_BYTES:
        raise _bad(f"headers.{HEADER_SIGNATURE}: standard base64 of a 64-byte Ed25519 signature expected")
    return signature
