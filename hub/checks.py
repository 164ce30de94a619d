"""The checks every ingress message passes before its body is read, in the order they run.

Cheap checks on the envelope come first, so that a message from the wrong user or of an unknown
kind is refused without parsing its body:

1. size (``too_large``), before anything else touches the body;
2. required AMQP properties (``missing_property``: absent, or breaking its rule);
3. the publishing user (``wrong_ingress``);
4. the contract version header (``unsupported_contract_version``: not one the setting
   ``contract_versions`` accepts from this partner, by default ``1``);
5. the kind (``unknown_kind``);
6. UTF-8 (``invalid_utf8``), then JSON and the partner's model (``malformed_json``,
   ``validation_failed``), in ``validate_body``. A canonical (Avro) body is first decoded by the
   fingerprint it names (``unknown_schema``) and turned into the native body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub import agency_codes
from hub.connector import Route
from hub.envelope import (
    CONTENT_TYPE_JSON,
    HEADER_CONTRACT_VERSION,
    HEADER_REPLAYED_FROM_USER,
    PERSISTENT,
    Delivery,
)
from hub.errors import Reason, Rejection
from hub.schemas.registry import CONTENT_TYPE_AVRO, HEADER_FINGERPRINT, Registry

M = TypeVar("M", bound=BaseModel)
MESSAGE_ID = re.compile(r"^[\x20-\x7e]{1,128}$")
DOSSIER_CODE = re.compile(rf"^{agency_codes.DOSSIER_CODE}$")
MAX_REPORTED_ERRORS = 3


def check_size(delivery: Delivery, max_body_bytes: int) -> None:
    if len(delivery.body) > max_body_bytes:
        raise Rejection(Reason.TOO_LARGE, f"body: larger than the limit of {max_body_bytes} bytes")


def _missing(path: str, rule: str) -> Rejection:
    return Rejection(Reason.MISSING_PROPERTY, f"{path}: {rule}")


def check_properties(delivery: Delivery) -> None:
    """The contract's required properties; ``user_id`` and the version header are checked apart."""
    p = delivery.properties
    if not p.message_id:
        raise _missing("properties.message_id", "required")
    if not MESSAGE_ID.match(p.message_id):
        raise _missing("properties.message_id", "must be 1..128 printable ASCII characters")
    if p.content_type not in (CONTENT_TYPE_JSON, CONTENT_TYPE_AVRO):
        raise _missing("properties.content_type", f"must be {CONTENT_TYPE_JSON} or {CONTENT_TYPE_AVRO}")
    if not p.type:
        raise _missing("properties.type", "required (the message kind)")
    if p.type != delivery.routing_key:
        raise _missing("properties.type", "must equal the routing key")
    if p.timestamp is None:
        raise _missing("properties.timestamp", "required (seconds since the epoch)")
    if p.delivery_mode != PERSISTENT:
        raise _missing("properties.delivery_mode", "must be 2 (persistent)")


def check_user(
    delivery: Delivery, accepted_users: Collection[str], replay_users: Collection[str] = ()
) -> None:
    """The publisher must be a user this ingress accepts, or an operator replaying (``hub.replay``)
    a message that such a user sent."""
    user = delivery.properties.user_id
    if not user:
        raise Rejection(Reason.WRONG_INGRESS, "properties.user_id: required (the publishing user)")
    if user in replay_users and HEADER_REPLAYED_FROM_USER in delivery.properties.headers:
        user = str(delivery.properties.headers[HEADER_REPLAYED_FROM_USER])
    if user not in accepted_users:
        raise Rejection(
            Reason.WRONG_INGRESS, f"properties.user_id: not a user accepted on ingress.{delivery.partner}"
        )


def check_contract_version(headers: Mapping[str, Any], accepted: Sequence[str], partner: str) -> str:
    """The message's contract version, when it is one ``accepted`` on ``partner``'s ingress (the
    setting ``contract_versions``); the detail names the accepted ones, never the value sent."""
    version = headers.get(HEADER_CONTRACT_VERSION)
    if version is None:
        raise _missing(f"headers.{HEADER_CONTRACT_VERSION}", "required")
    text = version.decode("utf-8", "replace") if isinstance(version, bytes) else str(version)
    if text not in accepted:
        raise Rejection(
            Reason.UNSUPPORTED_CONTRACT_VERSION,
            f"headers.{HEADER_CONTRACT_VERSION}: not a version accepted on ingress.{partner} "
            f"(accepted: {', '.join(accepted)})",
        )
    return text


def check_kind(kind: str, known: Collection[str], partner: str) -> None:
    if kind not in known:
        raise Rejection(Reason.UNKNOWN_KIND, f"properties.type: not a kind accepted on ingress.{partner}")


def _path(location: tuple[str | int, ...]) -> str:
    path = "$"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(errors: list[Any]) -> str:
    """Field paths and rules of a validation failure; pydantic's messages never quote the input."""
    shown = [f"{_path(e['loc'])}: {e['type']} ({e['msg']})" for e in errors[:MAX_REPORTED_ERRORS]]
    more = len(errors) - MAX_REPORTED_ERRORS
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def validate_body(body: bytes, model: type[M]) -> M:
    """Decode and validate a body; raises ``Rejection`` with the reason and the failing paths."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_input=False, include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            _require_utf8(body)  # the parser stops at bad UTF-8 too; say which it was
            raise Rejection(Reason.MALFORMED_JSON, f"body: {errors[0]['msg']}") from None
        raise Rejection(Reason.VALIDATION_FAILED, _describe(list(errors))) from None


def canonical_native_body(delivery: Delivery, route: Route[Any], registry: Registry) -> bytes:
    """The native JSON body of a canonical (Avro) ingress message, for ``validate_body``.

    Raises ``Rejection``: ``missing_property`` without a fingerprint header, ``unknown_schema`` for
    a fingerprint the registry does not know, ``validation_failed`` for another record or a body
    that does not decode.
    """
    if route.record is None or route.from_canonical is None:
        raise _missing("properties.content_type", f"this kind is accepted as {CONTENT_TYPE_JSON} only")
    fingerprint = delivery.properties.headers.get(HEADER_FINGERPRINT)
    if not isinstance(fingerprint, str):
        raise _missing(f"headers.{HEADER_FINGERPRINT}", f"required with {CONTENT_TYPE_AVRO}")
    writer = registry.find(fingerprint)
    if writer.full_name != route.record:
        raise Rejection(Reason.VALIDATION_FAILED, f"headers.{HEADER_FINGERPRINT}: must name {route.record}")
    try:
        datum = registry.decode(delivery.body, fingerprint)
    except (ValueError, EOFError, IndexError, TypeError):
        raise Rejection(Reason.VALIDATION_FAILED, f"body: not a {route.record} in Avro binary") from None
    return json.dumps(route.from_canonical(datum), ensure_ascii=False).encode()


def _require_utf8(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejection(Reason.INVALID_UTF8, f"body: not UTF-8 at byte {error.start}") from None
