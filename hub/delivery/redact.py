"""A partner's error message, made safe for a dead-letter header, a log line or the audit log.

Partners echo what they were sent ("Số điện thoại 0912345678 không hợp lệ"), and the two open-source
one-stop-shop systems that call these services log whole request bodies on failure. The hub keeps the
partner's words but not the values: every text value of the message that was sent is cut out, then
anything shaped like an e-mail address or a run of six or more digits (phone, ID and account numbers)
is masked, and the result is cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MASK = "[redacted]"
LIMIT = 200  # characters kept of a partner's message
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
_DIGITS = re.compile(r"\+?\d[\d .-]{4,}\d")
_SHORTEST_VALUE = 3  # shorter values ("1", "KQ") would mask ordinary words


def redact(message: str, *sent: Any) -> str:
    """``message`` without any text value of ``sent`` (JSON-like values) nor e-mails and numbers."""
    values = sorted({v for value in sent for v in _texts(value)}, key=len, reverse=True)
    for value in values:
        message = message.replace(value, MASK)
    message = _EMAIL.sub(MASK, message)
    message = _DIGITS.sub(MASK, message)
    message = " ".join(message.split())
    return message if len(message) <= LIMIT else message[: LIMIT - 1] + "…"


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if len(value.strip()) >= _SHORTEST_VALUE:
            yield value.strip()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
