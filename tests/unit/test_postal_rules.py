"""The postal rules: S10 item codes, order numbers, status codes and the order-state policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connectors.postal.models import OrderCancel, OrderCreate, ShipmentStatus
from connectors.postal_codes import (
    MAX_ATTEMPT,
    MEANINGS,
    PICKUP_STATUS,
    RESULT_DELIVERY,
    DeliveryState,
    OrderRef,
    PickupState,
    Service,
    StatusCode,
    Tracked,
    delivery_state,
    is_known,
    order_number,
    parse_order_number,
    pickup_state,
    s10_check_digit,
    s10_check_digit_ok,
    state_of,
    supersedes,
)

# The contract's example, shipped with the connectors (a copy of the spec's examples/ file).
SAMPLE = Path(__file__).resolve().parents[2] / "connectors/samples/postal.shipment.status.json"
DOSSIER = "000.00.30.H30-261129-0002"
KQ, TG = Service.BCCI_TRA_KQ, Service.BCCI_THU_GOM
# The contract's example shipment.status; test_the_contract_example checks it against the sample file.
EXAMPLE: dict[str, Any] = {
    "OrderNumber": f"{DOSSIER}/KQ",
    "ItemCode": "EB123456785VN",
    "StatusCode": 14,
    "StatusMessage": "Phát thành công",
    "EventTime": "20261204103000",
    "POSID": "900100",
    "Notes": "",
    "CODAmount": 8000,
}


def example() -> dict[str, Any]:
    return dict(EXAMPLE)


def status(**change: Any) -> ShipmentStatus:
    return ShipmentStatus.model_validate_json(json.dumps({**example(), **change}))


def errors_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, rule) of every validation error, checking that no message quotes the input."""
    with pytest.raises(ValidationError) as caught:
        ShipmentStatus.model_validate_json(json.dumps(body))
    errors = caught.value.errors(include_input=False, include_url=False)
    for value in body.values():
        if isinstance(value, str) and len(value) > 3:  # short values occur in any text
            assert value not in str(errors)
    return [(".".join(str(part) for part in e["loc"]), e["type"]) for e in errors]


# --- S10 item codes ---------------------------------------------------------------------------------


def by_hand_sum(serial: str) -> int:
    return sum(int(d) * w for d, w in zip(serial, [8, 6, 4, 2, 3, 5, 9, 7], strict=True))


def by_hand(serial: str) -> int:
    """The contract's formula, written out separately from the implementation."""
    c = 11 - by_hand_sum(serial) % 11
    if c == 10:
        return 0
    if c == 11:
        return 5
    return c


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        ("12345678", 5),  # 8+12+12+8+15+30+63+56 = 204; 204 mod 11 = 6; 11-6 = 5 (the spec's example)
        ("00000001", 4),  # 7; 11-7 = 4
        ("10000000", 3),  # 8; 11-8 = 3
        ("47312482", 9),  # 32+42+12+2+6+20+72+14 = 200; 200 mod 11 = 2; 11-2 = 9
        ("00000008", 0),  # 56; 56 mod 11 = 1; 11-1 = 10 -> 0
        ("00000000", 5),  # 0; 11-0 = 11 -> 5
    ],
)
def test_check_digits_computed_by_hand(serial: str, digit: int) -> None:
    assert s10_check_digit(serial) == by_hand(serial) == digit


def test_the_two_special_cases_are_hit() -> None:
    serials = (f"{n:08d}" for n in range(12_345_678, 10**8))
    ten = next(s for s in serials if 11 - by_hand_sum(s) % 11 == 10)
    eleven = next(s for s in serials if 11 - by_hand_sum(s) % 11 == 11)
    assert s10_check_digit(ten) == 0
    assert s10_check_digit(eleven) == 5
    assert s10_check_digit_ok(f"RR{ten}0VN")
    assert s10_check_digit_ok(f"RR{eleven}5VN")


@given(st.from_regex(r"[0-9]{8}", fullmatch=True))
def test_exactly_one_check_digit_is_right(serial: str) -> None:
    right = [d for d in range(10) if s10_check_digit_ok(f"EB{serial}{d}VN")]
    assert right == [by_hand(serial)]


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567a", "１２３４５６７８", ""])
def test_a_serial_is_eight_ascii_digits(serial: str) -> None:
    with pytest.raises(ValueError, match="8 digits"):
        s10_check_digit(serial)


@pytest.mark.parametrize(
    "item_code",
    [
        "eb123456785VN",  # lower-case service letters
        "E1123456785VN",
        "EB12345678VN",  # serial too short, no check digit
        "EB1234567855VN",
        "EB123456785US",  # not issued in Vietnam
        "EB123456785vn",
        "EB123456785VN\n",
        "EB12345678٥VN",  # an Arabic-Indic five
        " EB123456785VN",
        "",
    ],
)
def test_a_wrong_shape_is_refused_without_quoting_it(item_code: str) -> None:
    assert errors_of({**example(), "ItemCode": item_code}) == [("ItemCode", "string_pattern_mismatch")]
    assert not s10_check_digit_ok(item_code)


def test_a_wrong_check_digit_is_accepted_and_flagged() -> None:
    assert status().check_digit_ok
    flagged = status(ItemCode="EB123456784VN")
    assert flagged.ItemCode == "EB123456784VN"
    assert not flagged.check_digit_ok


# --- status codes ------------------------------------------------------------------------------------


def test_the_operator_table_is_encoded() -> None:
    assert [int(code) for code in StatusCode] == list(range(23))
    assert set(MEANINGS) == set(StatusCode)
    assert MEANINGS[StatusCode.COD_PAID] == "COD paid"
    assert all(is_known(code) for code in range(23))
    assert not any(is_known(code) for code in (-1, 23, 99, 999))


@pytest.mark.parametrize("code", [23, 99, 999, 0])
def test_any_status_code_0_to_999_is_accepted(code: int) -> None:
    event = status(StatusCode=code)
    assert event.StatusCode == code
    assert event.status_known == (code == 0)
    assert delivery_state(code) is None
    assert pickup_state(code) is None
    assert not supersedes(KQ, Tracked(code, "20261204103000"), None)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"StatusCode": 1000}, ("StatusCode", "less_than_equal")),
        ({"StatusCode": -1}, ("StatusCode", "greater_than_equal")),
        ({"StatusCode": "14"}, ("StatusCode", "int_type")),
        ({"StatusCode": True}, ("StatusCode", "int_type")),
        ({"CODAmount": -1}, ("CODAmount", "greater_than_equal")),
        ({"EventTime": "20261232103000"}, ("EventTime", "value_error")),
        ({"POSID": ""}, ("POSID", "string_too_short")),
        ({"Notes": "a\x00b"}, ("Notes", "string_pattern_mismatch")),
        ({"Ghichu": "để ở bưu cục"}, ("Ghichu", "extra_forbidden")),
    ],
)
def test_other_field_rules(change: dict[str, Any], error: tuple[str, str]) -> None:
    assert errors_of({**example(), **change}) == [error]


def test_the_contract_example() -> None:
    ShipmentStatus.model_validate_json(SAMPLE.read_bytes())
    assert json.loads(SAMPLE.read_bytes()) == EXAMPLE


def test_the_example_validates_and_empty_texts_are_values() -> None:
    event = ShipmentStatus.model_validate_json(json.dumps(EXAMPLE))
    assert event.order == OrderRef(DOSSIER, KQ, 1)
    assert (event.StatusCode, event.CODAmount, event.Notes) == (14, 8000, "")
    assert status(StatusMessage="", CODAmount=None).StatusMessage == ""
    without_cod = {k: v for k, v in example().items() if k != "CODAmount"}
    assert ShipmentStatus.model_validate_json(json.dumps(without_cod)).CODAmount is None


# --- order numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dossier", "service", "resend", "text", "attempt"),
    [
        (DOSSIER, KQ, 0, f"{DOSSIER}/KQ", 1),
        (DOSSIER, TG, 0, f"{DOSSIER}/TG", 1),
        (DOSSIER, KQ, 1, f"{DOSSIER}/KQ/2", 2),
        (DOSSIER, TG, 9, f"{DOSSIER}/TG/10", 10),
        ("G09.20-20260609-0092637", KQ, MAX_ATTEMPT - 1, "G09.20-20260609-0092637/KQ/999", 999),
    ],
)
def test_order_numbers_round_trip(
    dossier: str, service: Service, resend: int, text: str, attempt: int
) -> None:
    assert order_number(dossier, service, resend) == text
    assert parse_order_number(text) == OrderRef(dossier, service, attempt)
    assert parse_order_number(text).attempt == resend + 1
    assert status(OrderNumber=text).order == (dossier, service, attempt)


@given(resend=st.integers(0, MAX_ATTEMPT - 1), service=st.sampled_from(Service))
def test_every_attempt_has_one_spelling(resend: int, service: Service) -> None:
    text = order_number(DOSSIER, service, resend)
    assert parse_order_number(text) == (DOSSIER, service, resend + 1)


@pytest.mark.parametrize(
    "text",
    [
        DOSSIER,
        f"{DOSSIER}/",
        f"{DOSSIER}/XX",
        f"{DOSSIER}/kq",
        f"{DOSSIER}/KQ/",
        f"{DOSSIER}/KQ/1",  # the first attempt has no suffix
        f"{DOSSIER}/KQ/0",
        f"{DOSSIER}/KQ/02",
        f"{DOSSIER}/KQ/1000",
        f"{DOSSIER}/KQ/2/3",
        f"{DOSSIER}/TG/KQ",
        "abc/KQ",
        "/KQ",
        f"{DOSSIER}/KQ\n",
    ],
)
def test_a_bad_order_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="OrderNumber") as caught:
        parse_order_number(text)
    if len(text) > 3:  # short values occur in any text
        assert text not in str(caught.value)
    assert errors_of({**example(), "OrderNumber": text}) == [("OrderNumber", "string_pattern_mismatch")]


def test_an_over_long_dossier_code_is_refused() -> None:
    long_code = f"H30.{'A' * 49}-261129-0002"  # 65 characters: the dossier code pattern, but too long
    with pytest.raises(ValueError, match="at most 64"):
        parse_order_number(f"{long_code}/KQ")
    with pytest.raises(ValueError, match="at most 64"):
        order_number(long_code, KQ)
    assert errors_of({**example(), "OrderNumber": f"{long_code}/KQ"}) == [("OrderNumber", "value_error")]
    shorter = long_code.replace("A", "", 1)
    assert order_number(shorter, KQ, 998) == f"{shorter}/KQ/999"


@pytest.mark.parametrize("resend", [-1, MAX_ATTEMPT])
def test_a_resend_out_of_range_is_refused(resend: int) -> None:
    with pytest.raises(ValueError, match="resend"):
        order_number(DOSSIER, KQ, resend)


# --- egress bodies -----------------------------------------------------------------------------------


def order_create(**change: Any) -> dict[str, Any]:
    return {
        "CustomerCode": "C000123",
        "OrderNumber": f"{DOSSIER}/KQ",
        "Service": "BCCI_TRA_KQ",
        "SenderName": "UBND phường Ninh Kiều",
        "SenderAddress": "2 Hòa Bình, Ninh Kiều",
        "SenderPhone": "0292382000",
        "ReceiverName": "Nguyễn Văn A",
        "ReceiverAddress": "12 Trần Hưng Đạo",
        "ReceiverPhone": "+84912345678",
        "ReceiverProvince": "Cần Thơ",
        "ReceiverCommune": "Ninh Kiều",
        "CODAmount": 8000,
        "Description": "Kết quả hồ sơ",
        **change,
    }


def test_order_create_validates_and_marks_personal_data() -> None:
    order = OrderCreate.model_validate_json(json.dumps(order_create()))
    assert order.Service is KQ
    assert order.model_dump(mode="json") == order_create()
    personal = {
        name
        for name, field in OrderCreate.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("x-personal-data")
    }
    assert personal == {name for name in OrderCreate.model_fields if name.startswith(("Sender", "Receiver"))}


def test_order_create_refuses_a_suffix_of_the_other_service() -> None:
    with pytest.raises(ValidationError) as caught:
        OrderCreate.model_validate_json(json.dumps(order_create(Service="BCCI_THU_GOM")))
    (error,) = caught.value.errors(include_input=False, include_url=False)
    assert (error["loc"], error["type"]) == ((), "value_error")
    assert "/TG" in error["msg"]
    assert DOSSIER not in error["msg"]
    with pytest.raises(ValidationError):
        OrderCreate.model_validate_json(json.dumps(order_create(Service="BCCI_KHAC")))


def test_order_cancel() -> None:
    body = {"CustomerCode": "C000123", "OrderNumber": f"{DOSSIER}/TG/2", "LyDo": "Công dân rút hồ sơ"}
    assert OrderCancel.model_validate_json(json.dumps(body)).model_dump() == body
    with pytest.raises(ValidationError):
        OrderCancel.model_validate_json(json.dumps({**body, "LyDo": ""}))


# --- what an event means for onestop -----------------------------------------------------------------


def test_collection_order_mapping() -> None:
    assert dict(PICKUP_STATUS) == {
        5: PickupState.COLLECTION_FAILED,
        6: PickupState.COLLECTED,
        8: PickupState.COLLECTION_FAILED,
        9: PickupState.CANCELLED,
        14: PickupState.DELIVERED_TO_AGENCY,
    }
    assert state_of(TG, 6) is PickupState.COLLECTED
    assert state_of(TG, 12) is None


def test_result_order_mapping() -> None:
    in_transit = {7, 10, 11, 12, 13, 16, 18}
    assert {
        code for code, state in RESULT_DELIVERY.items() if state is DeliveryState.IN_TRANSIT
    } == in_transit
    assert delivery_state(14) is delivery_state(21) is DeliveryState.DELIVERED
    assert delivery_state(15) is DeliveryState.DELIVERY_FAILED
    assert delivery_state(20) is delivery_state(22) is DeliveryState.RETURNED_TO_AGENCY
    assert all(delivery_state(code) is None for code in (0, 1, 2, 3, 4, 5, 6, 8, 9, 17, 19))
    assert state_of(KQ, 14) is DeliveryState.DELIVERED


def at(second: int) -> str:
    """An EventTime ``second`` seconds after 2026-12-04 10:00:00."""
    return f"2026120410{second // 60:02d}{second % 60:02d}"


def settle(service: Service, events: list[Tracked]) -> Tracked | None:
    """Apply ``events`` in the order given; returns the event that set the order's state."""
    current: Tracked | None = None
    for event in events:
        if supersedes(service, event, current):
            current = event
    return current


def delivery_of(events: list[Tracked]) -> DeliveryState | None:
    final = settle(KQ, events)
    return None if final is None else delivery_state(final.code)


def test_a_late_out_for_delivery_never_undoes_a_delivery() -> None:
    delivered, late = Tracked(14, at(300)), Tracked(12, at(100))
    assert not supersedes(KQ, late, delivered)
    assert not supersedes(KQ, Tracked(12, at(900)), delivered)  # even stamped later
    assert not supersedes(KQ, Tracked(14, at(200)), Tracked(21, at(100)))  # COD paid first
    assert supersedes(KQ, Tracked(21, at(400)), delivered)  # CODDaThu, its own update
    assert not supersedes(KQ, delivered, delivered)  # a replay


def test_a_failed_attempt_is_followed_by_another_one() -> None:
    assert delivery_of([Tracked(12, at(1)), Tracked(15, at(2)), Tracked(12, at(3))]) is (
        DeliveryState.IN_TRANSIT
    )
    assert delivery_of([Tracked(12, at(3)), Tracked(15, at(2))]) is DeliveryState.IN_TRANSIT


def test_collection_order_precedence() -> None:
    assert settle(TG, [Tracked(5, at(1)), Tracked(6, at(2))]) == Tracked(6, at(2))
    assert settle(TG, [Tracked(6, at(2)), Tracked(5, at(1)), Tracked(9, at(3))]) == Tracked(6, at(2))
    assert settle(TG, [Tracked(14, at(9)), Tracked(6, at(2)), Tracked(12, at(5))]) == Tracked(14, at(9))
    assert settle(TG, [Tracked(10, at(1)), Tracked(999, at(2))]) is None


codes = st.integers(0, 30) | st.sampled_from(sorted(RESULT_DELIVERY))
events = st.builds(Tracked, code=codes, at=st.integers(0, 3599).map(at))


@settings(max_examples=500, deadline=None)
@given(history=st.lists(events, max_size=12), delivered_at=st.integers(0, 3599), data=st.data())
def test_a_delivery_is_never_undone_whatever_the_arrival_order(
    history: list[Tracked], delivered_at: int, data: st.DataObject
) -> None:
    with_delivery = [*history, Tracked(StatusCode.DELIVERED, at(delivered_at))]
    in_time_order = sorted(with_delivery, key=lambda event: event.at)
    arrival = list(data.draw(st.permutations(with_delivery)))
    assert delivery_of(arrival) == delivery_of(in_time_order) == DeliveryState.DELIVERED


@settings(max_examples=300, deadline=None)
@given(history=st.lists(events, max_size=12), service=st.sampled_from(Service), data=st.data())
def test_any_arrival_order_ends_where_time_order_ends(
    history: list[Tracked], service: Service, data: st.DataObject
) -> None:
    in_time_order = sorted(history, key=lambda event: event.at)
    arrival = list(data.draw(st.permutations(history)))
    assert settle(service, arrival) == settle(service, in_time_order)
