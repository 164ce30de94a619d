"""The portal session: one login shared by every worker thread, renewed when a call says it expired.

A login that fails is ``PartnerUnavailable``, never a refusal: wrong credentials or a wrong dstcode
are the deployment's to fix, so the messages stay held (the runner backs off, its breaker opens)
instead of being dead-lettered. Neither the username nor the password reaches a log line or an
exception text.
"""

from __future__ import annotations

import logging
import threading

import httpx

from connectors.portal.answers import AnswerRules, Outcome, read_answer
from hub.delivery.contract import PartnerRefused, PartnerUnavailable
from hub.delivery.http import send
from hub.settings.portal_http import PortalHttpSettings

log = logging.getLogger(__name__)


class Sessions:
    def __init__(self, client: httpx.Client, settings: PortalHttpSettings, rules: AnswerRules) -> None:
        self._client = client
        self._settings = settings
        self._rules = rules
        self._lock = threading.Lock()
        self._session: str | None = None

    def current(self) -> str:
        """The session in use, logging in first when there is none."""
        with self._lock:
            if self._session is None:
                self._session = self._login()
            return self._session

    def renew(self, expired: str | None) -> str:
        """A new session after ``expired`` was refused; one login even when several threads saw it."""
        with self._lock:
            if self._session is None or self._session == expired:
                log.info("portal session expired: logging in again")
                self._session = None
                self._session = self._login()
            return self._session

    def login(self) -> None:
        """Log in now (the breaker's probe), replacing the session in use."""
        with self._lock:
            self._session = self._login()

    def _login(self) -> str:
        username = self._settings.username
        password = self._settings.password.get_secret_value() if self._settings.password else ""
        request = self._client.build_request(
            "POST",
            self._settings.auth_path,
            json={"username": username, "password": password},
            headers={"dstcode": self._settings.dstcode},
        )
        try:
            response = send(self._client, request, username, password)
        except PartnerRefused as refused:
            log.warning("portal login refused: %s", refused.code)
            raise PartnerUnavailable(f"login_{refused.code}") from None
        if response.status_code == httpx.codes.UNAUTHORIZED:
            log.warning("portal login refused: http_401")
            raise PartnerUnavailable("login_refused")
        return self._session_of(response)

    def _session_of(self, response: httpx.Response) -> str:
        answer = read_answer(response, self._rules)
        session = answer.body.get("session")
        if answer.outcome is not Outcome.ACCEPTED or not isinstance(session, str) or not session:
            log.warning("portal login refused: error_code=%.16s", answer.code)
            raise PartnerUnavailable("login_refused")
        return session
