"""Pure translations for the postal operator. No I/O.

Toward the post: a filing that asks for collection, a result that goes by post and a withdrawal
each become a canonical order event (``PostalOrderRequested`` / ``PostalOrderCancelled``) and the
order on the dossier's record; the order event becomes ``order.create`` / ``order.cancel``.

From the post: a tracking event (``shipment.status``) of an order the hub placed becomes
``ShipmentStatusChanged``, and, when it moves the order forward (``codes.supersedes``), the order's
new state: ``PickupStatusChanged`` or ``ResultDeliveryChanged``, which the one-stop-shop connector
forwards. A delivered result is also the dossier's status 10 (``DossierProgressed``, which the
portal receives as progress).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from connectors.dossiers import known_dossier, step_of
from connectors.postal.models import OrderCancel, OrderCreate, ShipmentStatus
from connectors.postal_codes import (
    DeliveryState,
    PickupState,
    Service,
    Tracked,
    order_number,
    state_of,
    supersedes,
)
from connectors.values import vn_time_millis
from hub.connector import Context, Emit, Event, Flag, Result
from hub.dossiers.records import (
    Dossier,
    Facts,
    FactsNoted,
    OrderCancelled,
    OrderPlaced,
    OrderTracked,
    PostalOrder,
)
from hub.dossiers.status import RESULT_RETURNED
from hub.errors import Deferral, Reason, Rejection
from hub.settings import AgencySettings

POSTAL = "postal"
REQUESTED = "hub.postal.v1.PostalOrderRequested"
CANCELLED = "hub.postal.v1.PostalOrderCancelled"
SHIPMENT = "hub.postal.v1.ShipmentStatusChanged"
PICKUP = "hub.postal.v1.PickupStatusChanged"
DELIVERY = "hub.postal.v1.ResultDeliveryChanged"
PROGRESSED = "hub.dossier.v1.DossierProgressed"

COLLECT = "COLLECT_DOSSIER"  # canonical PostalService of BCCI_THU_GOM
DELIVER = "DELIVER_RESULT"  # canonical PostalService of BCCI_TRA_KQ
NATIVE_SERVICE = {COLLECT: Service.BCCI_THU_GOM, DELIVER: Service.BCCI_TRA_KQ}

# Flags (metric label hub_input_flags_total{flag}, and the ledger row's detail).
CHECK_DIGIT_FAILED = "item_code_check_digit_failed"
UNKNOWN_STATUS_CODE = "unknown_status_code"
LATE_TRACKING_EVENT = "late_tracking_event"  # a known code that did not move the order forward
# A delivery the status policy would not record as 10 (no 9 before it): forwarded all the same.
DELIVERED_BEFORE_RESULT_READY = "delivered_before_result_ready"

UNKNOWN_ORDER = "OrderNumber: the hub placed no order with this number"
# order.cancel tells the post why without passing on the citizen's own words.
WITHDRAWAL_REASON = "Công dân rút hồ sơ"
# A result the post has stopped carrying may be sent again, under the next OrderNumber.
RESENDABLE = frozenset({DeliveryState.DELIVERY_FAILED, DeliveryState.RETURNED_TO_AGENCY})
# A collection the post can no longer be asked to cancel: the papers are in its hands or delivered.
NOT_CANCELLABLE = frozenset({PickupState.COLLECTED, PickupState.DELIVERED_TO_AGENCY, PickupState.CANCELLED})


# --- toward the post -----------------------------------------------------------------------------


def collection_for_filing(datum: Mapping[str, Any], context: Context) -> Sequence[Result]:
    """Flow 1: a dossier filed online whose paper originals the post collects (``YeuCauThuGom``):
    an order from the citizen to the unit that owns the dossier, ``<MaHoSo>/TG``. Filing the same
    dossier again places no second order."""
    code = datum["dossier_code"]
    if not datum["collection_requested"] or _orders(context, code, COLLECT):
        return []
    order = PostalOrder(order_number(code, Service.BCCI_THU_GOM), COLLECT, attempt=1, cod_amount=0)
    unit = _unit(context, datum["owning_unit"])
    requested = _requested(code, order, datum["collection_address"], unit_address(unit))
    requested["description"] = f"Thu gom hồ sơ: {datum['procedure_name']}"[:2000]
    return [Event(REQUESTED, "postal.order.requested", requested, code), OrderPlaced(code, order)]


def result_by_post(datum: Mapping[str, Any], context: Context) -> Sequence[Result]:
    """Flow 4: the result of a dossier whose result goes by post: an order from the unit to the
    recipient on record, collecting ``LePhiConThieu`` on delivery. The first order is
    ``<MaHoSo>/KQ``; a result ready again after a failed or returned delivery is a re-send,
    ``<MaHoSo>/KQ/<n>``. While an order is on its way or delivered, nothing new is placed."""
    code = datum["dossier_code"]
    dossier = context.dossiers.get(code)
    if dossier is None or not dossier.result_by_post or dossier.recipient is None:
        return []
    earlier = dossier.orders_for(DELIVER)
    if earlier and not _may_resend(earlier[-1]):
        return []
    number = order_number(code, Service.BCCI_TRA_KQ, resend=len(earlier))
    order = PostalOrder(number, DELIVER, attempt=len(earlier) + 1, cod_amount=datum["amount_due"])
    sender = unit_address(_unit(context, dossier.unit))
    requested = _requested(code, order, sender, asdict(dossier.recipient))
    return [
        Event(REQUESTED, "postal.order.requested", requested, code),
        OrderPlaced(code, order),
        FactsNoted(code, Facts(delivery_attempts=order.attempt)),
    ]


def cancel_collection(datum: Mapping[str, Any], context: Context) -> Sequence[Result]:
    """Flow 6: a withdrawn dossier's collection orders that the post has not carried out yet are
    cancelled."""
    code = datum["dossier_code"]
    results: list[Result] = []
    for order in _orders(context, code, COLLECT):
        if order.cancelled or state_of(Service.BCCI_THU_GOM, order.last_code or 0) in NOT_CANCELLABLE:
            continue
        cancelled = {"dossier_code": code, "order_number": order.number, "reason": WITHDRAWAL_REASON}
        results += [
            Event(CANCELLED, "postal.order.cancelled", cancelled, code),
            OrderCancelled(code, order.number),
            FactsNoted(code, Facts(collection=str(PickupState.CANCELLED))),
        ]
    return results


def order_create(datum: Mapping[str, Any], context: Context) -> Sequence[Result]:
    """A requested order as the post's ``order.create``."""
    sender, receiver = datum["sender"], datum["receiver"]
    body = OrderCreate(
        CustomerCode=context.postal_customer_code,
        OrderNumber=datum["order_number"],
        Service=NATIVE_SERVICE[datum["service"]],
        SenderName=sender["full_name"],
        SenderAddress=sender["street"],
        SenderPhone=sender["phone"],
        ReceiverName=receiver["full_name"],
        ReceiverAddress=receiver["street"],
        ReceiverPhone=receiver["phone"],
        ReceiverProvince=receiver["province"],
        ReceiverCommune=receiver["commune"],
        CODAmount=datum["cod_amount"],
        Description=datum["description"],
    )
    return [Emit(partner=POSTAL, kind="order.create", body=body, dossier=datum["dossier_code"])]


def order_cancel(datum: Mapping[str, Any], context: Context) -> Sequence[Result]:
    """A cancelled order as the post's ``order.cancel``."""
    body = OrderCancel(
        CustomerCode=context.postal_customer_code, OrderNumber=datum["order_number"], LyDo=datum["reason"]
    )
    return [Emit(partner=POSTAL, kind="order.cancel", body=body, dossier=datum["dossier_code"])]


def unit_address(unit: AgencySettings) -> dict[str, str]:
    """A unit's counter as one side of an order (checked at start-up: ``require_postal_contacts``)."""
    assert unit.has_postal_contact(), "AgencyRegistry.require_postal_contacts runs at start-up"
    return {
        "full_name": unit.name,
        "phone": str(unit.phone),
        "street": str(unit.address),
        "province": str(unit.province),
        "commune": str(unit.commune),
    }


def _requested(
    code: str, order: PostalOrder, sender: Mapping[str, str], receiver: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "dossier_code": code,
        "order_number": order.number,
        "service": order.service,
        "sender": dict(sender),
        "receiver": dict(receiver),
        "cod_amount": order.cod_amount,
        "description": "Trả kết quả giải quyết thủ tục hành chính",
    }


def _orders(context: Context, code: str, service: str) -> tuple[PostalOrder, ...]:
    dossier = context.dossiers.get(code)
    return () if dossier is None else dossier.orders_for(service)


def _unit(context: Context, code: str) -> AgencySettings:
    unit = context.agencies.get(context.agencies.owning_unit(code, "owning unit"))
    assert unit is not None
    return unit


def _may_resend(order: PostalOrder) -> bool:
    return order.cancelled or state_of(Service.BCCI_TRA_KQ, order.last_code or 0) in RESENDABLE


# --- from the post -------------------------------------------------------------------------------


def shipment_status(message: ShipmentStatus, context: Context) -> Sequence[Result]:
    """Flows 4, 5 and 7: a tracking event of an order the hub placed (``unknown_dossier`` otherwise,
    waiting: the order may be in flight, its ``result.ready`` requeued after the post saw it).

    Always its canonical event; the order's new state when the event moves the order forward; the
    dossier's status 10 when it delivers a result. Unknown codes, late events and failing S10
    check digits are accepted and flagged.
    """
    dossier = known_dossier(message.order.dossier_code, context)
    order = dossier.order(message.OrderNumber)
    if order is None:
        raise Deferral(Reason.UNKNOWN_DOSSIER, UNKNOWN_ORDER)
    results: list[Result] = [_shipment_event(message, dossier.code), *_flags(message)]
    service = NATIVE_SERVICE[order.service]
    event = Tracked(message.StatusCode, message.EventTime)
    current = None if order.last_code is None else Tracked(order.last_code, order.last_at or "")
    if not supersedes(service, event, current):
        if state_of(service, message.StatusCode) is not None:
            results.append(Flag(LATE_TRACKING_EVENT))
        return results
    results += [
        OrderTracked(dossier.code, order.number, message.StatusCode, message.EventTime),
        _state_event(message, dossier.code, order),
        FactsNoted(dossier.code, _tracked_facts(message, order)),
    ]
    if state_of(service, message.StatusCode) is DeliveryState.DELIVERED:
        results += _result_returned(message, dossier)
    return results


def _tracked_facts(message: ShipmentStatus, order: PostalOrder) -> Facts:
    """What reports need of an order's new state: a collection's state; a result's delivery (when,
    at which attempt) and the COD collected."""
    service = NATIVE_SERVICE[order.service]
    state = state_of(service, message.StatusCode)
    if service is Service.BCCI_THU_GOM:
        return Facts(collection=str(state))
    delivered = state is DeliveryState.DELIVERED
    return Facts(
        handed_over_at=vn_time_millis(message.EventTime) if delivered else None,
        delivered_attempt=order.attempt if delivered else None,
        cod_collected_vnd=message.CODAmount or None,
    )


def _flags(message: ShipmentStatus) -> list[Result]:
    flags: list[Result] = []
    if not message.check_digit_ok:
        flags.append(Flag(CHECK_DIGIT_FAILED))
    if not message.status_known:
        flags.append(Flag(UNKNOWN_STATUS_CODE))
    return flags


def _shipment_event(message: ShipmentStatus, code: str) -> Event:
    datum = {
        "dossier_code": code,
        "order_number": message.OrderNumber,
        "item_code": message.ItemCode,
        "item_code_check_digit_ok": message.check_digit_ok,
        "status_code": message.StatusCode,
        "status_message": message.StatusMessage,
        "event_at": vn_time_millis(message.EventTime),
        "post_office": message.POSID,
        "notes": message.Notes,
        "cod_collected": message.CODAmount,
    }
    return Event(SHIPMENT, "shipment.status", datum, code)


def _state_event(message: ShipmentStatus, code: str, order: PostalOrder) -> Event:
    """The order's new state: ``PickupStatusChanged`` for a collection, ``ResultDeliveryChanged``
    (with the attempt and the COD collected) for a result."""
    service = NATIVE_SERVICE[order.service]
    state = state_of(service, message.StatusCode)
    assert state is not None  # supersedes() held
    datum: dict[str, Any] = {
        "dossier_code": code,
        "status": str(state),
        "at": vn_time_millis(message.EventTime),
        "item_code": message.ItemCode,
    }
    if service is Service.BCCI_THU_GOM:
        return Event(PICKUP, "pickup.status", datum, code)
    datum |= {"attempt": order.attempt, "cod_collected": message.CODAmount or 0}
    return Event(DELIVERY, "result.delivery", datum, code)


def _result_returned(message: ShipmentStatus, dossier: Dossier) -> list[Result]:
    """Status 10 for a delivered result, by the status policy (only from 9), as a processing step
    the portal receives.

    Where the policy would not admit it (no 9 before the delivery's time: an order placed before the
    hub kept to direct transitions, or the post's clock behind the unit's), the input is flagged
    rather than held back or refused: the delivery is the post's fact, and its order state and COD
    must reach the unit whatever the dossier's steps say. The portal is not told 10.
    """
    if dossier.status == RESULT_RETURNED:
        return []  # a paid COD after the delivery: returned already
    delivered_at = vn_time_millis(message.EventTime)
    try:
        step = step_of(dossier, delivered_at, RESULT_RETURNED)
    except Rejection:  # a Deferral too: this message will not be judged again
        return [Flag(DELIVERED_BEFORE_RESULT_READY)]
    datum = {
        "dossier_code": dossier.code,
        "status": RESULT_RETURNED,
        "processed_at": delivered_at,
        "handler": "Bưu điện",
        "handler_title": "Nhân viên bưu điện",
        "department": f"Bưu cục {message.POSID}",
        "content": "Đã trả kết quả qua dịch vụ bưu chính công ích",
        "new_due_at": None,
    }
    return [step, Event(PROGRESSED, "dossier.progress", datum, dossier.code)]
