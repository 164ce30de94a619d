"""The hub's log lines: readable text, or one JSON object per line (``HUB_LOG_FORMAT=json``).

A JSON line holds ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``event`` (the message), and,
when the line is about a message, the fields its log call passes as ``extra``: ``partner``, ``kind``,
``message_id``, ``reason`` (and ``detail``, a field path and rule). None of them is ever a value a
citizen typed: the pipeline's texts and headers follow the same rule (hub.errors).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from hub.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = {"levelname": "level", "name": "logger", "message": "event"}


def about(
    partner: str | None = None,
    message_id: str | None = None,
    kind: str | None = None,
    reason: str | None = None,
    **more: str | None,
) -> dict[str, str]:
    """The ``extra`` of a log line about one message: the fields known, none left empty."""
    given = {"partner": partner, "message_id": message_id, "kind": kind, "reason": reason, **more}
    return {name: value for name, value in given.items() if value}


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields=JSON_FIELDS,
            timestamp="time",
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def handler(settings: Settings, stream: TextIO) -> logging.Handler:
    """A handler writing to ``stream`` in the settings' ``log_format``."""
    written = logging.StreamHandler(stream)
    written.setFormatter(formatter(settings.log_format))
    return written


def configure(settings: Settings) -> None:
    """Log to stderr at ``log_level``, in ``log_format``."""
    logging.basicConfig(level=settings.log_level, handlers=[handler(settings, sys.stderr)])
    # httpx logs each request's URL at INFO; a query can name a dossier (the post's cancel call).
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
