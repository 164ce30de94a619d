"""The one boundary where kombu's, py-amqp's and socket errors become the hub's ``TransientError``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from amqp.exceptions import AMQPError, MessageNacked
from kombu.exceptions import KombuError

from hub.errors import TransientError

# MessageNacked: the broker refused a publish made with confirms (a full queue, say); py-amqp does not
# derive it from AMQPError.
BROKER_ERRORS = (KombuError, AMQPError, MessageNacked, OSError)


@contextmanager
def broker_errors(doing: str) -> Iterator[None]:
    """Translate broker client errors raised while ``doing`` something into ``TransientError``."""
    try:
        yield
    except BROKER_ERRORS as error:
        raise TransientError(f"broker, while {doing}: {type(error).__name__}: {error}") from error
