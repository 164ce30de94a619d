"""The partners' example of checking a signature, shown verbatim in docs/partners.md.

The page prints this file's code, and the tests run it on messages the hub signed (unit and on
RabbitMQ), so the example cannot rot. It needs only the ``cryptography`` package and
speaks of plain values, whichever AMQP client the partner uses. Partners sign their own messages
the same way with ``Ed25519PrivateKey.sign(signed_bytes(...))``.
"""

import base64
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LABEL = b"hub-message-signature-v1\x00"


def signed_bytes(message_id: str, timestamp: int, body: bytes) -> bytes:
    # label, message_id, NUL, timestamp in decimal, NUL, the body exactly as received
    return LABEL + message_id.encode() + b"\x00" + str(timestamp).encode() + b"\x00" + body


def from_the_hub(
    hub_keys: dict[str, str],  # key id -> base64 public key, as the hub's operators give them
    message_id: str,  # AMQP property message_id
    timestamp: int,  # AMQP property timestamp (seconds)
    headers: dict[str, object],  # AMQP headers: x-hub-signature, x-hub-key-id
    body: bytes,
    *,
    max_age_seconds: float = 86_400,
) -> bool:
    """Whether the hub signed this message (and not too long ago); drop the message if not."""
    key_text = hub_keys.get(str(headers.get("x-hub-key-id")))
    signature = headers.get("x-hub-signature")
    if key_text is None or not isinstance(signature, str | bytes):
        return False
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_text))
    try:
        key.verify(base64.b64decode(signature), signed_bytes(message_id, timestamp, body))
    except (InvalidSignature, ValueError):
        return False
    return time.time() - timestamp <= max_age_seconds
