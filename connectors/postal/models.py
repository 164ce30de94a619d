"""The postal operator's native messages (contract.md, "postal -> hub" and "hub -> postal").

``ShipmentStatus`` arrives on ``ingress.postal``; ``OrderCreate`` and ``OrderCancel`` are the bodies
the hub sends on ``egress.postal``. The code tables and the order-state policy are in
``connectors.postal_codes``.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from connectors.postal_codes import (
    ORDER_NUMBER_MAX_LENGTH,
    ORDER_NUMBER_PATTERN,
    S10_PATTERN,
    SUFFIXES,
    OrderRef,
    Service,
    is_known,
    parse_order_number,
    pattern_of,
    s10_check_digit_ok,
)
from connectors.values import PERSONAL, ContractModel, Money, Name, Phone, Text, VnTime


def _order_number(value: str) -> str:
    parse_order_number(value)  # the pattern held; this adds the dossier code's length
    return value


OrderNumberText = Annotated[
    str,
    StringConstraints(max_length=ORDER_NUMBER_MAX_LENGTH, pattern=ORDER_NUMBER_PATTERN),
    AfterValidator(_order_number),
]
# The S10 shape only: a wrong check digit is accepted and flagged (ShipmentStatus.check_digit_ok).
S10ItemCode = Annotated[str, StringConstraints(pattern=S10_PATTERN)]
# Any code the operator may add later: unknown codes are accepted and change no state.
StatusCodeNumber = Annotated[int, Field(ge=0, le=999)]
# Printable text like connectors.values.Text, but "" is a value (the post sends empty notes).
OptionalText = Annotated[str, StringConstraints(max_length=2000, pattern=pattern_of(Text))]
# The post's own identifiers (a post office, the hub's customer account): no shape is published.
PostalId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z._-]+$")]


class ShipmentStatus(ContractModel):
    """``shipment.status``: a tracking event of an order the hub created."""

    OrderNumber: OrderNumberText
    ItemCode: S10ItemCode
    StatusCode: StatusCodeNumber
    StatusMessage: OptionalText = Field(json_schema_extra=PERSONAL)  # free text: may name the recipient
    EventTime: VnTime
    POSID: PostalId
    Notes: OptionalText = Field(json_schema_extra=PERSONAL)  # free text: may name people
    CODAmount: Money | None = None

    @property
    def check_digit_ok(self) -> bool:
        """Whether ``ItemCode``'s S10 check digit is right (a wrong one is flagged, not refused)."""
        return s10_check_digit_ok(self.ItemCode)

    @property
    def status_known(self) -> bool:
        """Whether ``StatusCode`` is in the operator's table (an unknown one changes no state)."""
        return is_known(self.StatusCode)

    @property
    def order(self) -> OrderRef:
        """The dossier, service and attempt the ``OrderNumber`` names."""
        return parse_order_number(self.OrderNumber)


class OrderCreate(ContractModel):
    """``order.create``: ask the post to collect a dossier (``BCCI_THU_GOM``: the citizen sends it to
    the unit) or to deliver a result (``BCCI_TRA_KQ``: the unit sends it to the citizen).

    Every ``Sender*`` and ``Receiver*`` field is marked personal: one side is always a citizen.
    ``OrderNumber`` must end in the ``Service``'s suffix (``/TG`` or ``/KQ``).
    """

    CustomerCode: PostalId
    OrderNumber: OrderNumberText
    Service: Service
    SenderName: Name = Field(json_schema_extra=PERSONAL)
    SenderAddress: Text = Field(json_schema_extra=PERSONAL)
    SenderPhone: Phone = Field(json_schema_extra=PERSONAL)
    ReceiverName: Name = Field(json_schema_extra=PERSONAL)
    ReceiverAddress: Text = Field(json_schema_extra=PERSONAL)
    ReceiverPhone: Phone = Field(json_schema_extra=PERSONAL)
    ReceiverProvince: Text = Field(json_schema_extra=PERSONAL)
    ReceiverCommune: Text = Field(json_schema_extra=PERSONAL)
    CODAmount: Money
    Description: Text

    @model_validator(mode="after")
    def _order_number_names_the_service(self) -> Self:
        if parse_order_number(self.OrderNumber).service is not self.Service:
            raise ValueError(f"OrderNumber must end in /{SUFFIXES[self.Service]} for this Service")
        return self


class OrderCancel(ContractModel):
    """``order.cancel``: withdraw an order the post has not carried out (e.g. a withdrawn dossier)."""

    CustomerCode: PostalId
    OrderNumber: OrderNumberText
    LyDo: Text = Field(json_schema_extra=PERSONAL)  # free text: may name people
