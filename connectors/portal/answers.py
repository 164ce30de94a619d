"""Reading the portal's answers: ``{"error_code": ..., "message": "..."}`` into what the adapter does.

The portal answers HTTP 200 for its own refusals, so the outcome is in ``error_code`` (an integer in
some deployments, a string in others) and, for "already exists" and an expired session, sometimes
only in the message text. Which codes and texts mean what are settings (``PortalHttpSettings``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from hub.delivery.contract import PartnerRefused, PartnerUnavailable
from hub.delivery.redact import redact
from hub.settings.portal_http import PortalHttpSettings

CODE_LIMIT = 16  # characters of a partner's error_code kept in a refusal's code


class Outcome(Enum):
    ACCEPTED = "accepted"
    EXISTS = "exists"  # the dossier is already on the portal
    EXPIRED = "expired"  # the session is no longer valid: log in again
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    code: str
    message: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AnswerRules:
    """The settings that say which ``error_code`` and texts mean what."""

    success_codes: frozenset[str]
    exists_codes: frozenset[str]
    exists_text: str
    expired_codes: frozenset[str]
    expired_texts: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: PortalHttpSettings) -> AnswerRules:
        return cls(
            success_codes=frozenset(settings.success_codes),
            exists_codes=frozenset(settings.exists_codes),
            exists_text=settings.exists_text.casefold(),
            expired_codes=frozenset(settings.session_expired_codes),
            expired_texts=tuple(text.casefold() for text in settings.session_expired_texts if text),
        )

    def outcome(self, code: str, message: str) -> Outcome:
        if code in self.success_codes:
            return Outcome.ACCEPTED
        words = message.casefold()
        if code in self.expired_codes or any(text in words for text in self.expired_texts):
            return Outcome.EXPIRED
        if code in self.exists_codes or (self.exists_text and self.exists_text in words):
            return Outcome.EXISTS
        return Outcome.REFUSED


def read_answer(response: httpx.Response, rules: AnswerRules) -> Answer:
    """The answer's outcome; ``PartnerUnavailable("malformed_answer")`` when it is not the portal's
    JSON object with an ``error_code``."""
    body = _json_object(response)
    code = _code_text(body.get("error_code"))
    if code is None:
        raise PartnerUnavailable("malformed_answer")
    message = body.get("message")
    message = message if isinstance(message, str) else ""
    return Answer(rules.outcome(code, message), code, message, body)


def refusal(answer: Answer, *sent: Any) -> PartnerRefused:
    """The refusal for an answer, the partner's words stripped of what was sent."""
    code = redact(answer.code, *sent)[:CODE_LIMIT]
    return PartnerRefused(f"error_code={code}", redact(answer.message, *sent))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise PartnerUnavailable("malformed_answer") from None
    if not isinstance(body, dict):
        raise PartnerUnavailable("malformed_answer")
    return body


def _code_text(value: Any) -> str | None:
    # 0, "0" and "00" are all seen; a bool or a structure is no code.
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value).strip()
