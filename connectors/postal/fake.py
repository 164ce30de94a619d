"""A fake postal operator: it reads the hub's ``order.create`` / ``order.cancel`` in the real wire format
and answers with ``shipment.status`` tracking events, as Vietnam Post's order-status list has them.

Each order gets an S10 item code (with a correct check digit, except the share the operator's own
samples get wrong) and a journey drawn from the seeded random source: a collection is collected and
handed to the unit, or fails; a result is delivered (collecting its COD), or fails and comes back to
the unit, after which the unit sends it again under the next ``OrderNumber``. A few events arrive
late (a "12" after the "14"), and a few carry a status code the operator added after the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.postal.codes import Service, StatusCode, is_known, s10_check_digit
from connectors.synthetic import SyntheticPartner
from hub.envelope import Outbound

PARTNER = "postal"
TIME_FORMAT = "%Y%m%d%H%M%S"
UNPUBLISHED_CODE = 31  # a status code the contract's table does not have
MESSAGES = {
    StatusCode.CREATED: "Tạo đơn hàng",
    StatusCode.COLLECTING: "Đang thu gom",
    StatusCode.COLLECTION_FAILED: "Thu gom không thành công",
    StatusCode.COLLECTED: "Đã thu gom",
    StatusCode.ACCEPTED_AT_POST_OFFICE: "Đã nhận tại bưu cục",
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

    codes: tuple[int, ...]
    late: tuple[int, ...] = ()  # published after the others, with their own earlier times


COLLECTED = Journey((StatusCode.CREATED, StatusCode.COLLECTING, StatusCode.COLLECTED, StatusCode.DELIVERED))
COLLECTION_FAILED = Journey((StatusCode.CREATED, StatusCode.COLLECTING, StatusCode.COLLECTION_FAILED))
DELIVERED = Journey(
    (StatusCode.ACCEPTED_AT_POST_OFFICE, StatusCode.IN_TRANSIT, StatusCode.OUT_FOR_DELIVERY, StatusCode.DELIVERED)
)
DELIVERED_LATE_SCAN = Journey(DELIVERED.codes, late=(StatusCode.OUT_FOR_DELIVERY,))
RETURNED = Journey(
    (
        StatusCode.ACCEPTED_AT_POST_OFFICE,
        StatusCode.OUT_FOR_DELIVERY,
        StatusCode.DELIVERY_FAILED,
        StatusCode.PARTLY_RETURNED,
    )
)


class FakePostal(SyntheticPartner):
    """Answers the hub's orders; ``user`` is the broker user it publishes as.

    ``wrong_check_digit_share`` of item codes fail the S10 check digit; ``unpublished_code_share`` of
    orders get one event with a code outside the contract's table.
    """

    partner = PARTNER

    def __init__(
        self,
        seed: int = 47,
        user: str = "guest",
        start: datetime | None = None,
        wrong_check_digit_share: float = 0.03,
        unpublished_code_share: float = 0.05,
    ) -> None:
        super().__init__(seed, user, start)
        self._wrong_digit = wrong_check_digit_share
        self._unpublished = unpublished_code_share

    def item_code(self) -> str:
        """An S10 item code: ``EB`` + serial + check digit + ``VN``, now and then a wrong digit."""
        serial = self._digits(8)
        digit = s10_check_digit(serial)
        if self._random.random() < self._wrong_digit:
            digit = (digit + 1 + self._random.randrange(9)) % 10
        return f"EB{serial}{digit}VN"

    def journey(self, service: Service, failure_share: float, late_share: float) -> Journey:
        """A journey for a new order of ``service``."""
        failed = self._random.random() < failure_share
        if service is Service.BCCI_THU_GOM:
            return COLLECTION_FAILED if failed else COLLECTED
        if failed:
            return RETURNED
        return DELIVERED_LATE_SCAN if self._random.random() < late_share else DELIVERED

    def tracking(
        self, order: dict[str, Any], journey: Journey, sent_at: datetime, item_code: str | None = None
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
        return [self.status(order, item, code, moment) for code, moment in [*on_time, *late]]

    def status(self, order: dict[str, Any], item_code: str, code: int, at: datetime) -> Outbound:
        """One ``shipment.status``; a delivery of an order with COD carries the amount collected."""
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
        return self.message("shipment.status", body, at=max(at, self._clock))


def order_of(body: bytes) -> dict[str, Any]:
    """An ``order.create`` or ``order.cancel`` body as the post reads it."""
    order: dict[str, Any] = json.loads(body)
    return order
