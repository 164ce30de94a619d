"""A fake postal operator: it reads the hub's ``order.create`` / ``order.cancel`` in the real wire format
and answers with ``shipment.status`` tracking events, as Vietnam Post's order-status list has them.

Each order gets an S10 item code (with a correct check digit, except the share the operator's own
samples get wrong) and a journey drawn from the seeded random source: a collection is collected and
handed to the unit, or fails, or is cancelled when its cancellation came with it; a result is
delivered (collecting its COD), or fails and comes back to the unit, after which the unit sends it
again under the next ``OrderNumber``, which is delivered. A few events arrive late (a "12" after the
"14"), and a few carry a status code the operator added after the contract.

The fake also counts what it did: its journeys by name, and the flags the hub should raise for the
events it sent (a wrong check digit, an unknown code, a late event).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.postal.mapping import CHECK_DIGIT_FAILED, LATE_TRACKING_EVENT, UNKNOWN_STATUS_CODE
from connectors.postal_codes import (
    Service,
    StatusCode,
    is_known,
    parse_order_number,
    s10_check_digit,
    s10_check_digit_ok,
)
from connectors.synthetic import SyntheticPartner
from hub.envelope import Outbound
from hub.errors import Reason

PARTNER = "postal"
TIME_FORMAT = "%Y%m%d%H%M%S"
UNPUBLISHED_CODE = 31  # a status code the contract's table does not have
MESSAGES = {
    StatusCode.CREATED: "Tạo đơn hàng",
    StatusCode.COLLECTING: "Đang thu gom",
    StatusCode.COLLECTION_FAILED: "Thu gom không thành công",
    StatusCode.COLLECTED: "Đã thu gom",
    StatusCode.ACCEPTED_AT_POST_OFFICE: "Đã nhận tại bưu cục",
    StatusCode.COLLECTION_CANCELLED: "Hủy thu gom",
    StatusCode.IN_TRANSIT: "Đang vận chuyển",
    StatusCode.OUT_FOR_DELIVERY: "Đang phát",
    StatusCode.DELIVERED: "Phát thành công",
    StatusCode.DELIVERY_FAILED: "Phát không thành công",
    StatusCode.PARTLY_RETURNED: "Chuyển hoàn",
    StatusCode.COD_PAID: "Đã trả tiền COD",
}


@dataclass(frozen=True)
class Journey:
    """How one order goes: the status codes in time order, and those published out of order."""

    name: str
    codes: tuple[int, ...]
    late: tuple[int, ...] = ()  # published after the others, with their own earlier times


COLLECTED = Journey(
    "collected", (StatusCode.CREATED, StatusCode.COLLECTING, StatusCode.COLLECTED, StatusCode.DELIVERED)
)
COLLECTION_FAILED = Journey(
    "collection failed", (StatusCode.CREATED, StatusCode.COLLECTING, StatusCode.COLLECTION_FAILED)
)
CANCELLED = Journey("cancelled", (StatusCode.CREATED, StatusCode.COLLECTION_CANCELLED))
DELIVERED = Journey(
    "delivered",
    (
        StatusCode.ACCEPTED_AT_POST_OFFICE,
        StatusCode.IN_TRANSIT,
        StatusCode.OUT_FOR_DELIVERY,
        StatusCode.DELIVERED,
    ),
)
DELIVERED_LATE_SCAN = Journey(
    "delivered with a late scan", DELIVERED.codes, late=(StatusCode.OUT_FOR_DELIVERY,)
)
RETURNED = Journey(
    "returned",
    (
        StatusCode.ACCEPTED_AT_POST_OFFICE,
        StatusCode.OUT_FOR_DELIVERY,
        StatusCode.DELIVERY_FAILED,
        StatusCode.PARTLY_RETURNED,
    ),
)


class FakePostal(SyntheticPartner):
    """Answers the hub's orders; ``user`` is the broker user it publishes as.

    ``wrong_check_digit_share`` of item codes fail the S10 check digit; ``unpublished_code_share`` of
    orders get one event with a code outside the contract's table; ``failure_share`` of first orders
    fail (a collection not collected, a result returned); ``late_share`` of deliveries have their
    "out for delivery" scan arrive after the delivery.
    """

    partner = PARTNER

    def __init__(
        self,
        seed: int = 47,
        user: str = "guest",
        start: datetime | None = None,
        *,
        wrong_check_digit_share: float = 0.03,
        unpublished_code_share: float = 0.05,
        failure_share: float = 0.15,
        late_share: float = 0.1,
    ) -> None:
        super().__init__(seed, user, start)
        self._wrong_digit = wrong_check_digit_share
        self._unpublished = unpublished_code_share
        self._failure = failure_share
        self._late = late_share
        self.journeys: Counter[str] = Counter()  # the journeys of the orders answered so far
        self.flagged: Counter[str] = Counter()  # the flags the hub should raise for the events sent

    def item_code(self) -> str:
        """An S10 item code: ``EB`` + serial + check digit + ``VN``, now and then a wrong digit."""
        serial = self._digits(8)
        digit = s10_check_digit(serial)
        if self._random.random() < self._wrong_digit:
            digit = (digit + 1 + self._random.randrange(9)) % 10
        return f"EB{serial}{digit}VN"

    def answer(
        self, orders: Sequence[Mapping[str, Any]], cancels: Sequence[Mapping[str, Any]], after: datetime
    ) -> list[Outbound]:
        """The tracking events of ``orders`` (``order.create`` bodies), order by order, from ``after``
        on. An order whose cancellation (``cancels``: ``order.cancel`` bodies) came with it is
        cancelled before anyone collects it; a cancellation of an order answered earlier comes too
        late and gets nothing."""
        self._clock = max(self._clock, after)
        cancelled = {cancel["OrderNumber"] for cancel in cancels}
        messages: list[Outbound] = []
        for order in orders:
            journey = CANCELLED if order["OrderNumber"] in cancelled else self.journey(order)
            messages += self.tracking(order, journey, self._clock)
        return messages

    def journey(self, order: Mapping[str, Any]) -> Journey:
        """A journey for ``order``: a re-sent result is delivered."""
        resent = parse_order_number(order["OrderNumber"]).attempt > 1
        failed = not resent and self._random.random() < self._failure
        if order["Service"] == Service.BCCI_THU_GOM:
            return COLLECTION_FAILED if failed else COLLECTED
        if failed:
            return RETURNED
        return DELIVERED_LATE_SCAN if self._random.random() < self._late else DELIVERED

    def tracking(
        self, order: Mapping[str, Any], journey: Journey, sent_at: datetime, item_code: str | None = None
    ) -> list[Outbound]:
        """The ``shipment.status`` messages of ``order`` (an ``order.create`` body) along ``journey``,
        in publication order: the late ones last."""
        item = item_code or self.item_code()
        at = sent_at
        timed: list[tuple[int, datetime]] = []
        for code in journey.codes:
            at += timedelta(minutes=self._random.randint(20, 180))
            timed.append((code, at))
        if self._random.random() < self._unpublished:
            timed.insert(1, (UNPUBLISHED_CODE, timed[0][1] + timedelta(minutes=5)))
        late = [(code, moment) for code, moment in timed if code in journey.late]
        on_time = [(code, moment) for code, moment in timed if code not in journey.late]
        self.journeys[journey.name] += 1
        self._expect_flags(item, [code for code, _ in timed], len(late))
        return [self.status(order, item, code, moment) for code, moment in [*on_time, *late]]

    def _expect_flags(self, item_code: str, codes: list[int], late: int) -> None:
        if not s10_check_digit_ok(item_code):
            self.flagged[CHECK_DIGIT_FAILED] += len(codes)  # every event of the item carries it
        self.flagged[UNKNOWN_STATUS_CODE] += sum(not is_known(code) for code in codes)
        self.flagged[LATE_TRACKING_EVENT] += late

    def status(self, order: Mapping[str, Any], item_code: str, code: int, at: datetime) -> Outbound:
        """One ``shipment.status``; a delivery of an order with COD carries the amount collected."""
        return self.message(
            "shipment.status", self._status(order, item_code, code, at), at=max(at, self._clock)
        )

    def _status(self, order: Mapping[str, Any], item_code: str, code: int, at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "OrderNumber": order["OrderNumber"],
            "ItemCode": item_code,
            "StatusCode": code,
            "StatusMessage": MESSAGES.get(StatusCode(code), "") if is_known(code) else "Trạng thái mới",
            "EventTime": f"{at:{TIME_FORMAT}}",
            "POSID": "9001" + f"{self._random.randint(0, 99):02d}",
            "Notes": "",
        }
        if code == StatusCode.DELIVERED and order["Service"] == Service.BCCI_TRA_KQ and order["CODAmount"]:
            body["CODAmount"] = order["CODAmount"]
        return body

    def bad_messages(self, unknown_dossier: str) -> list[tuple[Reason, Outbound]]:
        """Tracking events the hub refuses, each with its reason: one of an order it never placed
        (for ``unknown_dossier``), one whose ``ItemCode`` does not have the S10 shape."""
        order = {"OrderNumber": f"{unknown_dossier}/KQ", "Service": Service.BCCI_TRA_KQ, "CODAmount": 0}
        at = self._clock + timedelta(minutes=30)
        unplaced = self._status(order, self.item_code(), StatusCode.OUT_FOR_DELIVERY, at)
        misshapen = {**unplaced, "ItemCode": "EB1234567VN"}
        return [
            (Reason.UNKNOWN_DOSSIER, self.message("shipment.status", unplaced, at=at)),
            (Reason.VALIDATION_FAILED, self.message("shipment.status", misshapen, at=at)),
        ]
