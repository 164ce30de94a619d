"""Refusals as RFC 9457 problem details (``application/problem+json``).

A problem names the field and the rule it breaks, never the value sent: the body of a refused message
may hold a citizen's personal data, and so may a header a client filled in by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://dossier-hub.invalid/problems/"  # stable identifiers, not pages to fetch

TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Problem(Exception):
    """A refusal: ``rule`` is a short slug (the problem's type), ``field`` where the request broke it."""

    status: int
    rule: str
    detail: str
    field: str | None = None
    retry_after: int | None = None

    def body(self) -> dict[str, object]:
        described: dict[str, object] = {
            "type": TYPE_BASE + self.rule,
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "rule": self.rule,
        }
        if self.field is not None:
            described["field"] = self.field
        return described

    def response(self) -> JSONResponse:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="hub"')
        return JSONResponse(self.body(), self.status, headers=headers, media_type=PROBLEM_JSON)
