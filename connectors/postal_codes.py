"""The postal operator's codes (contract.md, "Postal StatusCode", "Common value rules", "hub -> postal").

Four things live here, all pure functions over plain values so that the connector and the tests share
one reading of the contract:

- the operator's ``StatusCode`` table (0..22); any other number is *unknown*: accepted, audited and
  counted, but it changes no state and is never forwarded;
- UPU S10 item codes (``ItemCode``): the shape, which is enforced, and the check digit, which is only
  flagged because operators' own samples sometimes fail it;
- ``OrderNumber``: ``<MaHoSo>/TG`` (collection) or ``<MaHoSo>/KQ`` (result), plus ``/<n>`` for a
  re-send;
- what a tracking event means for onestop (``pickup.status`` / ``result.delivery`` ``TrangThai``) and
  the precedence that keeps events arriving out of order from moving an order backwards.

Order-state policy
------------------
Each status code that means something for an order's service has a *rank*, the stage of the order's
journey it reports. An event's precedence is ``(rank, EventTime, code)``; the order's state is the
state of the event with the highest precedence seen so far, so an event changes the state only if it
outranks the current one (``supersedes``). The result is independent of the arrival order: applying the
events as they arrive ends where applying them in time order ends. Within one stage the later event
wins (a re-attempt after a failed delivery is again "in transit"); across stages the later stage wins
whatever the times say, so a delivery (14) or a paid COD (21) is never undone by a late "out for
delivery" (12) or a mis-scanned "delivery failed" (15). The code is only a tie-break for two events of
one stage stamped in the same second, to keep the result deterministic.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final, NamedTuple

from pydantic import StringConstraints

from connectors.values import DossierCode


class StatusCode(IntEnum):
    """The operator's order-status list; the contract's meaning of each code is in ``MEANINGS``."""

    DRAFT = 0
    CREATED = 1
    ASSIGNED = 2
    PROCESSING = 3
    COLLECTING = 4
    COLLECTION_FAILED = 5
    COLLECTED = 6
    ACCEPTED_AT_POST_OFFICE = 7
    RETRIEVAL_FAILED = 8
    COLLECTION_CANCELLED = 9
    IN_TRANSIT = 10
    ARRIVED_AT_POST_OFFICE = 11
    OUT_FOR_DELIVERY = 12
    FORWARDED = 13
    DELIVERED = 14
    DELIVERY_FAILED = 15
    AWAITING_TRANSFER = 16
    APPROVED = 17
    TRANSFERRING = 18
    COMPLETED = 19
    PARTLY_RETURNED = 20
    COD_PAID = 21
    DELIVERY_CANCELLED = 22


MEANINGS: Final[Mapping[StatusCode, str]] = MappingProxyType(
    {
        StatusCode.DRAFT: "draft",
        StatusCode.CREATED: "created",
        StatusCode.ASSIGNED: "assigned to a postman",
        StatusCode.PROCESSING: "processing",
        StatusCode.COLLECTING: "collecting",
        StatusCode.COLLECTION_FAILED: "collection failed",
        StatusCode.COLLECTED: "collected",
        StatusCode.ACCEPTED_AT_POST_OFFICE: "accepted at post office",
        StatusCode.RETRIEVAL_FAILED: "retrieval failed",
        StatusCode.COLLECTION_CANCELLED: "collection cancelled",
        StatusCode.IN_TRANSIT: "in transit",
        StatusCode.ARRIVED_AT_POST_OFFICE: "arrived at post office",
        StatusCode.OUT_FOR_DELIVERY: "out for delivery",
        StatusCode.FORWARDED: "forwarded",
        StatusCode.DELIVERED: "delivered",
        StatusCode.DELIVERY_FAILED: "delivery failed",
        StatusCode.AWAITING_TRANSFER: "awaiting transfer",
        StatusCode.APPROVED: "approved",
        StatusCode.TRANSFERRING: "transferring",
        StatusCode.COMPLETED: "completed",
        StatusCode.PARTLY_RETURNED: "partly returned",
        StatusCode.COD_PAID: "COD paid",
        StatusCode.DELIVERY_CANCELLED: "delivery cancelled",
    }
)


_KNOWN: Final = frozenset(code.value for code in StatusCode)


def is_known(code: int) -> bool:
    """Whether ``code`` is in the operator's table (0..22); an unknown code changes no state."""
    return code in _KNOWN


# --- UPU S10 item codes -------------------------------------------------------------------------

# [0-9], not \d: \d also matches other scripts' digits, in Python's re and in pydantic's regex alike.
S10_PATTERN: Final = r"^[A-Z]{2}[0-9]{8}[0-9]VN$"
S10_SHAPE: Final = re.compile(S10_PATTERN)
_S10_WEIGHTS: Final = (8, 6, 4, 2, 3, 5, 9, 7)
_SERIAL: Final = re.compile(r"[0-9]{8}")


def s10_check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial: weights 8,6,4,2,3,5,9,7, c = 11 - (sum mod 11),
    then 10 -> 0 and 11 -> 5. Raises ``ValueError`` unless ``serial`` is exactly 8 ASCII digits."""
    if not _SERIAL.fullmatch(serial):
        raise ValueError("an S10 serial is exactly 8 digits")
    total = sum(int(digit) * weight for digit, weight in zip(serial, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def s10_check_digit_ok(item_code: str) -> bool:
    """Whether ``item_code`` has the S10 shape *and* a correct check digit (False for a bad shape)."""
    if not S10_SHAPE.fullmatch(item_code):
        return False
    return s10_check_digit(item_code[2:10]) == int(item_code[10])


# --- OrderNumber ----------------------------------------------------------------------------------


class Service(StrEnum):
    """``order.create`` ``Service``: what the post is asked to carry."""

    BCCI_THU_GOM = "BCCI_THU_GOM"  # collect a paper dossier from a citizen, bring it to the unit
    BCCI_TRA_KQ = "BCCI_TRA_KQ"  # deliver a result from the unit to the citizen


SUFFIXES: Final[Mapping[Service, str]] = MappingProxyType(
    {Service.BCCI_THU_GOM: "TG", Service.BCCI_TRA_KQ: "KQ"}
)
_SERVICE_OF_SUFFIX: Final = {suffix: service for service, suffix in SUFFIXES.items()}

# Attempts: the first order of a dossier and service has no suffix (attempt 1); the k-th order sent
# for the same dossier and service, k >= 2, ends in "/k", written without leading zeros, so
# ".../KQ/2" is the first re-send. "/0" and "/1" are refused: every attempt has exactly one spelling.
MAX_ATTEMPT: Final = 999
_ATTEMPT: Final = r"[2-9]|[1-9][0-9]{1,2}"
DOSSIER_CODE_MAX_LENGTH: Final = 64


def pattern_of(constrained: object) -> str:
    """The regex of a constrained ``str`` type of ``connectors.values`` (its ``StringConstraints``).

    Lets the postal shapes reuse the contract's rules rather than copy them.
    """
    for rule in typing.get_args(constrained)[1:]:
        if isinstance(rule, StringConstraints) and isinstance(rule.pattern, str):
            return rule.pattern
    raise TypeError("not a str type with a pattern")


DOSSIER_CODE_PATTERN: Final = pattern_of(DossierCode)
ORDER_NUMBER_PATTERN: Final = (
    rf"^({DOSSIER_CODE_PATTERN.removeprefix('^').removesuffix('$')})"
    rf"/({'|'.join(SUFFIXES.values())})(?:/({_ATTEMPT}))?$"
)
ORDER_NUMBER_MAX_LENGTH: Final = DOSSIER_CODE_MAX_LENGTH + len("/KQ") + len(f"/{MAX_ATTEMPT}")
_ORDER_NUMBER: Final = re.compile(ORDER_NUMBER_PATTERN)


class OrderRef(NamedTuple):
    """What an ``OrderNumber`` says: the dossier, the service, and the attempt (1 = first order)."""

    dossier_code: str
    service: Service
    attempt: int


def order_number(dossier_code: str, service: Service, resend: int = 0) -> str:
    """The ``OrderNumber`` of an order: ``<MaHoSo>/TG`` or ``<MaHoSo>/KQ``, and ``/<resend + 1>`` for a
    re-send. ``resend`` counts earlier orders for the same dossier and service: 0 for the first order,
    1 for the first re-send (``/2``), up to ``MAX_ATTEMPT - 1``. Raises ``ValueError`` for a dossier
    code the contract refuses or a ``resend`` out of range; ``parse_order_number`` inverts it."""
    if not 0 <= resend < MAX_ATTEMPT:
        raise ValueError(f"resend must be 0..{MAX_ATTEMPT - 1}")
    suffix = f"/{resend + 1}" if resend else ""
    text = f"{dossier_code}/{SUFFIXES[service]}{suffix}"
    parse_order_number(text)  # the dossier code's shape and length
    return text


def parse_order_number(text: str) -> OrderRef:
    """The dossier, service and attempt of an ``OrderNumber``.

    Raises ``ValueError`` (naming the rule, never the value) unless ``text`` is a dossier code of at
    most 64 characters, ``/TG`` or ``/KQ``, and optionally ``/<n>`` with n in 2..999.
    """
    match = _ORDER_NUMBER.fullmatch(text)
    if match is None:
        raise ValueError("an OrderNumber is <MaHoSo>/TG or <MaHoSo>/KQ, optionally /<n> with n >= 2")
    dossier_code, suffix, attempt = match.groups()
    if len(dossier_code) > DOSSIER_CODE_MAX_LENGTH:
        raise ValueError(f"the MaHoSo of an OrderNumber is at most {DOSSIER_CODE_MAX_LENGTH} characters")
    return OrderRef(dossier_code, _SERVICE_OF_SUFFIX[suffix], int(attempt) if attempt else 1)


# --- What a tracking event means for onestop -----------------------------------------------------


class PickupState(StrEnum):
    """onestop ``pickup.status`` ``TrangThai`` (a BCCI_THU_GOM order)."""

    COLLECTED = "COLLECTED"
    COLLECTION_FAILED = "COLLECTION_FAILED"
    DELIVERED_TO_AGENCY = "DELIVERED_TO_AGENCY"
    CANCELLED = "CANCELLED"


class DeliveryState(StrEnum):
    """onestop ``result.delivery`` ``TrangThai`` (a BCCI_TRA_KQ order)."""

    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    DELIVERY_FAILED = "DELIVERY_FAILED"
    RETURNED_TO_AGENCY = "RETURNED_TO_AGENCY"


# A collection order: (state, rank). A failed attempt (5, or 8: the postman could not retrieve the
# dossier) may be followed by another attempt, so it ranks lowest; a cancellation outranks a failure;
# a collected dossier is in the post's hands, which a cancellation arriving later cannot undo; handing
# it to the unit (14, "delivered" for the post) ends the journey. The other codes (created, in
# transit, ...) are not forwarded: pickup.status has no state for them.
_PICKUP: Final[Mapping[StatusCode, tuple[PickupState, int]]] = MappingProxyType(
    {
        StatusCode.COLLECTION_FAILED: (PickupState.COLLECTION_FAILED, 1),
        StatusCode.RETRIEVAL_FAILED: (PickupState.COLLECTION_FAILED, 1),
        StatusCode.COLLECTION_CANCELLED: (PickupState.CANCELLED, 2),
        StatusCode.COLLECTED: (PickupState.COLLECTED, 3),
        StatusCode.DELIVERED: (PickupState.DELIVERED_TO_AGENCY, 4),
    }
)

# A result order: (state, rank). Every step of the way, a failed attempt (15) included, is one stage,
# "on its way", where the later event wins: after a failure the postman tries again (12). A return
# (20 partly returned, 22 delivery cancelled: the item goes back to the unit) outranks that stage.
# Delivery (14) outranks everything but a paid COD (21), which the post records only after handing
# the item over: 21 is reported as its own result.delivery update, TrangThai DELIVERED, with CODDaThu
# (the event's CODAmount), so a 14 arriving after it changes nothing. 0..6, 8, 9, 17 and 19 (the
# order's paperwork, a collection's codes, "completed") are not forwarded.
_DELIVERY: Final[Mapping[StatusCode, tuple[DeliveryState, int]]] = MappingProxyType(
    {
        StatusCode.ACCEPTED_AT_POST_OFFICE: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.IN_TRANSIT: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.ARRIVED_AT_POST_OFFICE: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.OUT_FOR_DELIVERY: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.FORWARDED: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.AWAITING_TRANSFER: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.TRANSFERRING: (DeliveryState.IN_TRANSIT, 1),
        StatusCode.DELIVERY_FAILED: (DeliveryState.DELIVERY_FAILED, 1),
        StatusCode.PARTLY_RETURNED: (DeliveryState.RETURNED_TO_AGENCY, 2),
        StatusCode.DELIVERY_CANCELLED: (DeliveryState.RETURNED_TO_AGENCY, 2),
        StatusCode.DELIVERED: (DeliveryState.DELIVERED, 3),
        StatusCode.COD_PAID: (DeliveryState.DELIVERED, 4),
    }
)

PICKUP_STATUS: Final[Mapping[StatusCode, PickupState]] = MappingProxyType(
    {code: state for code, (state, _) in _PICKUP.items()}
)
RESULT_DELIVERY: Final[Mapping[StatusCode, DeliveryState]] = MappingProxyType(
    {code: state for code, (state, _) in _DELIVERY.items()}
)


def pickup_state(code: int) -> PickupState | None:
    """The ``pickup.status`` TrangThai a code means for a collection order; None: not forwarded."""
    return PICKUP_STATUS.get(StatusCode(code)) if is_known(code) else None


def delivery_state(code: int) -> DeliveryState | None:
    """The ``result.delivery`` TrangThai a code means for a result order; None: not forwarded."""
    return RESULT_DELIVERY.get(StatusCode(code)) if is_known(code) else None


def state_of(service: Service, code: int) -> PickupState | DeliveryState | None:
    """The onestop TrangThai a code means for an order of ``service``; None: changes no state."""
    return pickup_state(code) if service is Service.BCCI_THU_GOM else delivery_state(code)


def rank(service: Service, code: int) -> int | None:
    """The stage of an order's journey a code reports (higher is further); None for a code that
    changes no state of an order of ``service`` (unknown, or without a onestop TrangThai)."""
    if not is_known(code):
        return None
    table = _PICKUP if service is Service.BCCI_THU_GOM else _DELIVERY
    entry = table.get(StatusCode(code))
    return None if entry is None else entry[1]


class Tracked(NamedTuple):
    """A tracking event as far as an order's state goes: its ``StatusCode`` and ``EventTime``
    (``yyyyMMddHHmmss``: fixed width, so text order is time order)."""

    code: int
    at: str


def precedence(service: Service, event: Tracked) -> tuple[int, str, int] | None:
    """``(rank, EventTime, code)``, the total order of events of one order; None: no state change."""
    stage = rank(service, event.code)
    return None if stage is None else (stage, event.at, event.code)


def supersedes(service: Service, event: Tracked, current: Tracked | None) -> bool:
    """Whether ``event`` changes the state of an order of ``service`` whose state-setting event so
    far is ``current`` (None: none yet). True iff the event's code has a state for the service and
    it outranks ``current`` by ``precedence``: a replay, an older event of the same stage or any
    event of an earlier stage changes nothing."""
    new = precedence(service, event)
    if new is None:
        return False
    old = None if current is None else precedence(service, current)
    return old is None or new > old
