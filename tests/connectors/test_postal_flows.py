"""Flows 1 (collection), 4, 5, 6 and 7 (COD): the hub's orders to the post and the post's tracking
events, over the pipeline with dossiers in memory."""

from __future__ import annotations

from typing import Any

import pytest

from hub.dossiers.records import OrderPlaced, PostalOrder
from hub.dossiers.status import RESULT_RETURNED
from hub.settings import Settings
from tests.conftest import PROVINCE_UNIT
from tests.connectors.harness import InMemoryHub, deferred, egress, forwarded, routes, sample

FILED_ONLINE = "000.00.30.H30-261129-0001"  # portal sample: collection requested, result by post
AT_COUNTER = "000.00.30.H30-261129-0002"  # onestop sample: result by post


def tracking(order_number: str, code: int, at: str) -> dict[str, Any]:
    return {
        **sample("postal.shipment.status"),
        "OrderNumber": order_number,
        "StatusCode": code,
        "EventTime": at,
    }


def counter_dossier_with_result(settings: Settings) -> InMemoryHub:
    """The onestop sample received, processed to 9 and its result ready: an order is out."""
    hub = InMemoryHub(settings)
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    for status, at in ((4, "20261130090000"), (9, "20261203140000")):
        step = {**sample("onestop.dossier.progress"), "TrangThaiHoSo": status, "ThoiDiemXuLy": at}
        assert forwarded(hub.send("onestop", "dossier.progress", step))
    return hub


# --- flow 1: collection ---------------------------------------------------------------------------


def test_an_online_filing_that_asks_for_collection_orders_it_from_the_citizen_to_the_unit(
    settings: Settings,
) -> None:
    filing = sample("portal.dossier.submitted")
    outcome = InMemoryHub(settings).send("portal", "dossier.submitted", filing)
    assert routes(outcome) == [
        ("hub.events", "dossier.submitted"),
        ("egress.onestop", "dossier.submitted"),
        ("hub.events", "postal.order.requested"),
        ("egress.postal", "order.create"),
    ]
    [order] = egress(outcome, "postal", "order.create")
    collect_from, unit = filing["DiaChiThuGom"], settings.agencies[0]
    assert order == {
        "CustomerCode": settings.postal_customer_code,
        "OrderNumber": f"{FILED_ONLINE}/TG",
        "Service": "BCCI_THU_GOM",
        "SenderName": collect_from["hoVaTen"],
        "SenderAddress": collect_from["diaChi"],
        "SenderPhone": collect_from["soDienThoai"],
        "ReceiverName": unit.name,
        "ReceiverAddress": unit.address,
        "ReceiverPhone": unit.phone,
        "ReceiverProvince": unit.province,
        "ReceiverCommune": unit.commune,
        "CODAmount": 0,
        "Description": f"Thu gom hồ sơ: {filing['TenTTHC']}",
    }
    assert outcome.outputs[-1].properties.correlation_id == FILED_ONLINE


def test_a_filing_without_collection_orders_nothing_and_a_second_filing_orders_no_second_pickup(
    settings: Settings,
) -> None:
    hub = InMemoryHub(settings)
    assert not egress(
        hub.send(
            "portal", "dossier.submitted", {**sample("portal.dossier.submitted"), "YeuCauThuGom": False}
        ),
        "postal",
        "order.create",
    )
    other = {**sample("portal.dossier.submitted"), "MaHoSo": "000.00.30.H30-261129-0009"}
    assert len(egress(hub.send("portal", "dossier.submitted", other), "postal", "order.create")) == 1
    assert not egress(hub.send("portal", "dossier.submitted", other), "postal", "order.create")


# --- flow 5: the post collects -------------------------------------------------------------------


def test_collection_events_reach_the_unit_and_the_portal_hears_the_papers_were_collected(
    settings: Settings,
) -> None:
    hub = InMemoryHub(settings)
    hub.send("portal", "dossier.submitted", sample("portal.dossier.submitted"))
    collected = hub.send("postal", "shipment.status", tracking(f"{FILED_ONLINE}/TG", 6, "20261130100000"))
    assert routes(collected) == [
        ("hub.events", "shipment.status"),
        ("hub.events", "pickup.status"),
        ("egress.portal", "CapNhatTienDoHoSoMC"),
        ("egress.onestop", "pickup.status"),
    ]
    assert egress(collected, "onestop", "pickup.status") == [
        {
            "MaHoSo": FILED_ONLINE,
            "TrangThai": "COLLECTED",
            "ThoiDiem": "20261130100000",
            "ItemCode": "EB123456785VN",
        }
    ]
    [progress] = egress(collected, "portal", "CapNhatTienDoHoSoMC")
    assert (progress["TrangThai"], progress["NoiDungXuLy"]) == (1, "Bưu điện đã thu gom hồ sơ giấy")
    assert collected.outputs[3].properties.headers["x-hub-unit"] == PROVINCE_UNIT
    handed = hub.send("postal", "shipment.status", tracking(f"{FILED_ONLINE}/TG", 14, "20261130150000"))
    assert [b["TrangThai"] for b in egress(handed, "onestop", "pickup.status")] == ["DELIVERED_TO_AGENCY"]
    assert not egress(handed, "portal", "CapNhatTienDoHoSoMC")


# --- flow 6: withdrawal ----------------------------------------------------------------------------


def test_a_withdrawal_before_collection_cancels_the_order(settings: Settings) -> None:
    hub = InMemoryHub(settings)
    hub.send("portal", "dossier.submitted", sample("portal.dossier.submitted"))
    outcome = hub.send("portal", "dossier.withdrawn", sample("portal.dossier.withdrawn"))
    assert routes(outcome) == [
        ("hub.events", "dossier.withdrawn"),
        ("egress.onestop", "dossier.withdrawn"),
        ("hub.events", "postal.order.cancelled"),
        ("egress.postal", "order.cancel"),
    ]
    assert egress(outcome, "postal", "order.cancel") == [
        {
            "CustomerCode": settings.postal_customer_code,
            "OrderNumber": f"{FILED_ONLINE}/TG",
            "LyDo": "Công dân rút hồ sơ",  # never the citizen's own words
        }
    ]
    dossier = hub.dossiers.load(FILED_ONLINE)
    assert dossier is not None
    assert dossier.orders[0].cancelled


def test_a_withdrawal_after_the_post_collected_cancels_nothing(settings: Settings) -> None:
    hub = InMemoryHub(settings)
    hub.send("portal", "dossier.submitted", sample("portal.dossier.submitted"))
    hub.send("postal", "shipment.status", tracking(f"{FILED_ONLINE}/TG", 6, "20261130100000"))
    outcome = hub.send("portal", "dossier.withdrawn", sample("portal.dossier.withdrawn"))
    assert routes(outcome) == [("hub.events", "dossier.withdrawn"), ("egress.onestop", "dossier.withdrawn")]


# --- flow 4: result by post ------------------------------------------------------------------------


def test_a_result_by_post_is_ordered_from_the_unit_to_the_recipient_with_the_fees_owed(
    settings: Settings,
) -> None:
    hub = counter_dossier_with_result(settings)
    outcome = hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    assert routes(outcome) == [
        ("hub.events", "result.ready"),
        ("hub.events", "postal.order.requested"),
        ("egress.postal", "order.create"),
    ]
    [order] = egress(outcome, "postal", "order.create")
    recipient = sample("onestop.dossier.received")["DiaChiNhanKetQua"]
    assert (order["OrderNumber"], order["Service"], order["CODAmount"]) == (
        f"{AT_COUNTER}/KQ",
        "BCCI_TRA_KQ",
        8000,
    )
    assert (order["SenderName"], order["SenderPhone"]) == (
        settings.agencies[0].name,
        settings.agencies[0].phone,
    )
    assert (order["ReceiverName"], order["ReceiverAddress"], order["ReceiverPhone"]) == (
        recipient["hoVaTen"],
        recipient["diaChi"],
        recipient["soDienThoai"],
    )
    again = hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    assert not egress(again, "postal", "order.create")  # the order is on its way: no second one


def test_a_result_at_the_counter_orders_nothing(settings: Settings) -> None:
    hub = InMemoryHub(settings)
    at_counter = {**sample("onestop.dossier.received"), "HinhThucNhanKetQua": 0}
    del at_counter["DiaChiNhanKetQua"]
    hub.send("onestop", "dossier.received", at_counter)
    hub.send("onestop", "dossier.progress", sample("onestop.dossier.progress"))  # 2 -> 4
    outcome = hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    assert routes(outcome) == [
        ("hub.events", "result.ready"),
        ("hub.events", "dossier.progress"),  # its step to 9
        ("egress.portal", "CapNhatTienDoHoSoMC"),
    ]


def test_a_result_ready_too_early_places_no_order_and_its_delivery_cannot_be_recorded(
    settings: Settings,
) -> None:
    """The dossier is at 2: the ready result waits for its processing, so no order is placed, and
    a tracking event of the order it would have placed waits too; nothing records 10."""
    hub = InMemoryHub(settings)
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    early = hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    assert (early.record.reason, deferred(early)) == ("invalid_transition", True)
    assert not egress(early, "postal", "order.create")
    delivered = hub.send("postal", "shipment.status", sample("postal.shipment.status"))
    assert (delivered.record.reason, delivered.record.detail, deferred(delivered)) == (
        "unknown_dossier",
        "OrderNumber: the hub placed no order with this number",
        True,
    )
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert (dossier.status, dossier.steps, dossier.orders) == (2, (), ())


def test_a_delivery_of_a_dossier_not_at_9_reaches_the_unit_but_is_not_recorded_as_10(
    settings: Settings,
) -> None:
    """An order placed before the hub kept to direct transitions, for a dossier still at 4."""
    hub = InMemoryHub(settings)
    hub.send("onestop", "dossier.received", sample("onestop.dossier.received"))
    hub.send("onestop", "dossier.progress", sample("onestop.dossier.progress"))
    hub.dossiers.apply([OrderPlaced(AT_COUNTER, PostalOrder(f"{AT_COUNTER}/KQ", "DELIVER_RESULT", 1, 8000))])
    delivered = hub.send("postal", "shipment.status", sample("postal.shipment.status"))
    assert [b["TrangThai"] for b in egress(delivered, "onestop", "result.delivery")] == ["DELIVERED"]
    assert delivered.flags == ("delivered_before_result_ready",)
    assert not egress(delivered, "portal", "CapNhatTienDoHoSoMC")
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert (dossier.status, dossier.orders[0].last_code) == (4, 14)


def test_a_delivery_older_than_the_result_is_not_recorded_as_10(settings: Settings) -> None:
    """The post's clock behind the unit's: 10 before 9 in time is a link nothing can mend."""
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    early = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ", 14, "20261203100000"))
    assert early.flags == ("delivered_before_result_ready",)
    assert not egress(early, "portal", "CapNhatTienDoHoSoMC")
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert dossier.status == 9


def test_a_delivery_reaches_the_unit_with_the_cod_and_the_portal_as_status_10(settings: Settings) -> None:
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    delivered = hub.send("postal", "shipment.status", sample("postal.shipment.status"))
    assert egress(delivered, "onestop", "result.delivery") == [
        {
            "MaHoSo": AT_COUNTER,
            "TrangThai": "DELIVERED",
            "ThoiDiem": "20261204103000",
            "ItemCode": "EB123456785VN",
            "SoLanPhat": 1,
            "CODDaThu": 8000,
        }
    ]
    [progress] = egress(delivered, "portal", "CapNhatTienDoHoSoMC")
    assert (progress["TrangThai"], progress["ThoiDiemXuLy"]) == (RESULT_RETURNED, "20261204103000")
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert dossier.status == RESULT_RETURNED


def test_a_late_out_for_delivery_never_undoes_a_delivery(settings: Settings) -> None:
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    hub.send("postal", "shipment.status", sample("postal.shipment.status"))
    late = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ", 12, "20261204090000"))
    assert routes(late) == [("hub.events", "shipment.status")]
    assert late.flags == ("late_tracking_event",)
    assert late.record.detail == "flags: late_tracking_event"
    cod = hub.send(
        "postal", "shipment.status", {**tracking(f"{AT_COUNTER}/KQ", 21, "20261204170000"), "CODAmount": 8000}
    )
    assert [(b["TrangThai"], b["CODDaThu"]) for b in egress(cod, "onestop", "result.delivery")] == [
        ("DELIVERED", 8000)
    ]
    assert not egress(cod, "portal", "CapNhatTienDoHoSoMC")  # status 10 was reported once


def test_a_failed_delivery_then_a_return_lets_the_unit_send_the_result_again_under_a_new_number(
    settings: Settings,
) -> None:
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    failed = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ", 15, "20261204100000"))
    assert [b["TrangThai"] for b in egress(failed, "onestop", "result.delivery")] == ["DELIVERY_FAILED"]
    back = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ", 20, "20261205100000"))
    assert [b["TrangThai"] for b in egress(back, "onestop", "result.delivery")] == ["RETURNED_TO_AGENCY"]
    resend = hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    [order] = egress(resend, "postal", "order.create")
    assert order["OrderNumber"] == f"{AT_COUNTER}/KQ/2"
    delivered = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ/2", 14, "20261206100000"))
    assert [(b["TrangThai"], b["SoLanPhat"]) for b in egress(delivered, "onestop", "result.delivery")] == [
        ("DELIVERED", 2)
    ]


# --- the post's own rules ----------------------------------------------------------------------------


def test_an_unknown_status_code_is_accepted_counted_and_changes_nothing(settings: Settings) -> None:
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    outcome = hub.send("postal", "shipment.status", tracking(f"{AT_COUNTER}/KQ", 31, "20261204100000"))
    assert not outcome.rejected
    assert routes(outcome) == [("hub.events", "shipment.status")]
    assert outcome.flags == ("unknown_status_code",)
    dossier = hub.dossiers.load(AT_COUNTER)
    assert dossier is not None
    assert dossier.orders[0].last_code is None


def test_a_wrong_check_digit_is_accepted_and_flagged_a_wrong_shape_is_refused(settings: Settings) -> None:
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    flagged = hub.send(
        "postal", "shipment.status", {**sample("postal.shipment.status"), "ItemCode": "EB123456784VN"}
    )
    assert not flagged.rejected
    assert flagged.flags == ("item_code_check_digit_failed",)
    assert egress(flagged, "onestop", "result.delivery")[0]["ItemCode"] == "EB123456784VN"
    refused = hub.send(
        "postal", "shipment.status", {**sample("postal.shipment.status"), "ItemCode": "EB12345678VN"}
    )
    assert refused.record.reason == "validation_failed"
    assert str(refused.record.detail).startswith("$.ItemCode: string_pattern_mismatch")


@pytest.mark.parametrize(
    ("order_number", "detail"),
    [
        ("000.00.30.H30-261129-0077/KQ", "MaHoSo: no dossier with this code was filed or received"),
        (f"{AT_COUNTER}/TG", "OrderNumber: the hub placed no order with this number"),
        (f"{AT_COUNTER}/KQ/2", "OrderNumber: the hub placed no order with this number"),
    ],
)
def test_tracking_of_an_order_the_hub_never_placed_waits_as_unknown_dossier(
    settings: Settings, order_number: str, detail: str
) -> None:
    """The order may be in flight (its ``result.ready`` requeued after the post saw the order)."""
    hub = counter_dossier_with_result(settings)
    hub.send("onestop", "result.ready", sample("onestop.result.ready"))
    outcome = hub.send("postal", "shipment.status", tracking(order_number, 14, "20261204100000"))
    assert (outcome.record.reason, outcome.record.detail) == ("unknown_dossier", detail)
    assert deferred(outcome)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("OrderNumber", "000.00.30.H30-261129-0002", "string_pattern_mismatch"),
        ("OrderNumber", f"{AT_COUNTER}/KQ/1", "string_pattern_mismatch"),
        ("OrderNumber", f"{AT_COUNTER}/XX", "string_pattern_mismatch"),
        ("ItemCode", "eb123456785VN", "string_pattern_mismatch"),
        ("ItemCode", "EB123456785US", "string_pattern_mismatch"),
        ("StatusCode", -1, "greater_than_equal"),
        ("StatusCode", "14", "int_type"),
        ("EventTime", "20261340103000", "value_error"),
        ("EventTime", "2026-12-04 10:30", "string_pattern_mismatch"),
        ("POSID", "", "string_too_short"),
        ("POSID", "bưu cục 9", "string_pattern_mismatch"),
        ("Notes", "ghi chú\x07", "string_pattern_mismatch"),
        ("CODAmount", -8000, "greater_than_equal"),
        ("CODAmount", 10**12 + 1, "less_than_equal"),
    ],
)
def test_postal_field_rules_name_the_field_and_rule_never_the_value(
    settings: Settings, field: str, value: Any, rule: str
) -> None:
    outcome = InMemoryHub(settings).send(
        "postal", "shipment.status", {**sample("postal.shipment.status"), field: value}
    )
    assert outcome.record.reason == "validation_failed"
    detail = str(outcome.record.detail)
    assert detail.startswith(f"$.{field}: {rule}")
    assert str(value) not in detail.removeprefix(f"$.{field}: {rule}") or len(str(value)) < 3
