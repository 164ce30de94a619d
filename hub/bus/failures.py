"""The one boundary where kombu's, py-amqp's and socket errors become the hub's errors.

A broker failure either passes (the broker is down, restarting, or drops a connection: a
``TransientError``, retried) or is a refusal that no retry can change (a ``BrokerRefused``, the
deployment must be fixed). RabbitMQ says which with its reply code, and for 530 with its text:

- 403 ACCESS_REFUSED: the login was refused (wrong user or password), or a permission is missing;
- 530 NOT_ALLOWED "vhost X not found", or "access to vhost X refused for user Y": a wrong vhost or no
  rights on it. But a 530 for a connection limit reached or a vhost that is down (the broker is
  starting) passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from amqp.exceptions import AMQPError, MessageNacked
from kombu.exceptions import KombuError, OperationalError

from hub.bus.urls import BrokerAddress
from hub.errors import BrokerRefused, TransientError

# MessageNacked: the broker refused a publish made with confirms (a full queue, say); py-amqp does not
# derive it from AMQPError.
BROKER_ERRORS = (KombuError, AMQPError, MessageNacked, OSError)
CONNECT_ERRORS = (OSError, OperationalError)  # a connect that failed, where the next host may answer
ACCESS_REFUSED = 403
NOT_ALLOWED = 530
_PASSING = ("limit", "is down")  # 530s that go away by themselves


def refusal(address: BrokerAddress, code: int | None, text: str) -> BrokerRefused | None:
    """The broker's reply ``code`` and ``text`` as a ``BrokerRefused`` when retrying cannot help."""
    rule = _rule(address, code, text.lower())
    return None if rule is None else BrokerRefused(address.masked(), rule, text)


def _rule(address: BrokerAddress, code: int | None, text: str) -> str | None:
    if code == ACCESS_REFUSED and "login" in text:
        return f"the broker refused the login of user {address.user!r}: wrong user or password"
    if code == ACCESS_REFUSED:
        return f"user {address.user!r} lacks a permission the hub needs (rabbitmqctl set_permissions)"
    if code != NOT_ALLOWED or any(passing in text for passing in _PASSING):
        return None
    if "not found" in text:
        return (
            f"vhost {address.vhost!r} does not exist: the URL's path names it (amqp://host/%2F is "
            "the default vhost /); create it or fix the path"
        )
    if "refused" in text:
        return f"user {address.user!r} has no rights on vhost {address.vhost!r} (rabbitmqctl set_permissions)"
    return None


@contextmanager
def broker_errors(doing: str, address: BrokerAddress | None = None) -> Iterator[None]:
    """Translate broker client errors raised while ``doing`` something: a refusal of ``address``
    into ``BrokerRefused``, anything else into ``TransientError``."""
    try:
        yield
    except BROKER_ERRORS as error:
        code = getattr(error, "code", None)  # py-amqp's reply code; kombu's and sockets' have none
        code = code if isinstance(code, int) else None
        refused = None if address is None else refusal(address, code, _reply_text(error))
        if refused is not None:
            raise refused from None
        raise TransientError(transient_text(address, doing, error)) from error


def transient_text(address: BrokerAddress | None, doing: str, error: BaseException) -> str:
    """One line for a failure that may pass, naming the setting to check (password masked)."""
    what = f"{type(error).__name__}: {' '.join(str(error).split())}"
    if address is None:  # the embedded broker: no setting names it
        return f"broker, while {doing}: {what}"
    # kombu's OperationalError wraps a failed connect; an OSError is a socket that failed.
    failed = "the connection failed" if isinstance(error, OSError | OperationalError) else "the broker failed"
    return f"HUB_BROKER_URL ({address.masked()}): {failed} while {doing}: {what}"


def _reply_text(error: BaseException) -> str:
    text = getattr(error, "reply_text", None)
    return text if isinstance(text, str) and text else str(error)
