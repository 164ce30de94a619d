"""Flows 6 and 7: the portal's withdrawals and online payments reach the unit that owns the
dossier. A withdrawal is a step of a dossier the hub knows; a payment of a dossier the hub never saw
reaches the unit told from the dossier code's agency prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import connectors
from hub.outcomes import Outcome
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import AgencySettings, Settings
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT, PROVINCE_UNIT
from tests.connectors.harness import InMemoryHub, deferred, egress, forwarded

SAMPLES = Path(connectors.__file__).parent / "samples"
REGISTRY = Registry.load(CATALOGUE)
KINDS = ("dossier.withdrawn", "payment.completed")
RECORDS = {
    "dossier.withdrawn": "hub.dossier.v1.DossierWithdrawn",
    "payment.completed": "hub.payment.v1.PaymentCompleted",
}
MERGED_INTO = "H13.60"


def example(kind: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / f"portal.{kind}.json").read_text(encoding="utf-8"))
    return body


def process(
    settings: Settings,
    kind: str,
    body: dict[str, Any],
    agencies: list[AgencySettings] | None = None,
    filed: bool = False,
) -> Outcome:
    """``body`` through the pipeline; ``filed``: once the portal filed its dossier (without
    collection, so a withdrawal cancels nothing)."""
    hub = hub_with(settings, agencies)
    if filed:
        filing = {**example("dossier.submitted"), "MaHoSo": body["MaHoSo"], "YeuCauThuGom": False}
        filing.pop("DiaChiThuGom")
        assert forwarded(hub.send("portal", "dossier.submitted", filing))
    return hub.send("portal", kind, body)


def hub_with(settings: Settings, agencies: list[AgencySettings] | None = None) -> InMemoryHub:
    return InMemoryHub(settings if agencies is None else settings.model_copy(update={"agencies": agencies}))


def routes(outcome: Outcome) -> list[tuple[str, str]]:
    return [(o.exchange, o.routing_key) for o in outcome.outputs]


def with_code(kind: str, code: str) -> dict[str, Any]:
    return {**example(kind), "MaHoSo": code}


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_reaches_the_owning_unit_as_the_portal_sent_it(settings: Settings, kind: str) -> None:
    body = example(kind)
    outcome = process(settings, kind, body, filed=True)
    assert not outcome.rejected, outcome.record.detail
    assert routes(outcome) == [("hub.events", kind), ("egress.onestop", kind)]
    event, forwarded = outcome.outputs
    assert event.properties.headers["x-hub-schema"] == RECORDS[kind]
    assert json.loads(forwarded.body) == body
    assert forwarded.properties.type == kind
    assert forwarded.properties.headers["x-hub-unit"] == PROVINCE_UNIT
    assert {o.properties.correlation_id for o in outcome.outputs} == {body["MaHoSo"]}
    assert outcome.record.dossier == body["MaHoSo"]


def test_a_withdrawal_is_a_canonical_event(settings: Settings) -> None:
    body = example("dossier.withdrawn")
    event = process(settings, "dossier.withdrawn", body, filed=True).outputs[0]
    datum = REGISTRY.decode(event.body, str(event.properties.headers["x-hub-schema-fingerprint"]))
    assert datum["dossier_code"] == body["MaHoSo"]
    assert datum["reason"].startswith(f"hub-sealed:v1:{body['MaHoSo']}:")  # free text: personal, sealed
    assert event.payload["reason"] == body["LyDo"]  # what the audit receives, and seals itself
    # 2026-11-29 10:15:00 in Vietnam (UTC+7) is 03:15:00 UTC.
    assert datum["withdrawn_at"].isoformat() == "2026-11-29T03:15:00+00:00"


def test_a_payment_is_a_canonical_event(settings: Settings) -> None:
    body = example("payment.completed")
    event = process(settings, "payment.completed", body).outputs[0]
    datum = REGISTRY.decode(event.body, str(event.properties.headers["x-hub-schema-fingerprint"]))
    assert (datum["dossier_code"], datum["transaction_id"], datum["amount"], datum["channel"]) == (
        body["MaHoSo"],
        body["MaGiaoDich"],
        body["SoTien"],
        body["KenhThanhToan"],
    )
    assert datum["paid_at"].isoformat() == "2026-11-29T01:45:00+00:00"


@pytest.mark.parametrize("kind", KINDS)
def test_the_unit_follows_successors(settings: Settings, kind: str) -> None:
    merged = [
        AgencySettings(code=PROVINCE_UNIT, name="old centre (sample)", successor=MERGED_INTO),
        AgencySettings(code=MERGED_INTO, name="merged centre (sample)"),
    ]
    outcome = process(settings, kind, example(kind), agencies=merged, filed=True)
    assert outcome.outputs[1].properties.headers["x-hub-unit"] == MERGED_INTO


def test_a_payment_of_a_dossier_with_a_legacy_prefix_reaches_todays_unit(settings: Settings) -> None:
    code = f"{LEGACY_UNIT}-250612-0042"  # never seen by the hub: filed before it went live
    outcome = process(settings, "payment.completed", with_code("payment.completed", code))
    forwarded = outcome.outputs[1]
    assert forwarded.properties.headers["x-hub-unit"] == CURRENT_UNIT
    assert json.loads(forwarded.body)["MaHoSo"] == code


@pytest.mark.parametrize("code", ["000.00.99.H30-261129-0001", "G09.20-20260609-0092637"])
def test_a_payment_whose_owner_cannot_be_told_is_an_unknown_dossier(settings: Settings, code: str) -> None:
    outcome = process(settings, "payment.completed", with_code("payment.completed", code))
    assert (outcome.record.reason, routes(outcome)) == (
        "unknown_dossier",
        [("hub.dead.portal", "payment.completed")],
    )
    detail = str(outcome.outputs[0].properties.headers["x-hub-detail"])
    assert detail == "MaHoSo: the owning unit cannot be told from this dossier code"
    assert code not in detail
    assert code.partition("-")[0] not in detail


@pytest.mark.parametrize("code", [f"{LEGACY_UNIT}-250612-0042", "000.00.99.H30-261129-0001"])
def test_a_withdrawal_of_a_dossier_the_hub_never_saw_waits_for_its_filing(
    settings: Settings, code: str
) -> None:
    hub = hub_with(settings)
    outcome = hub.send("portal", "dossier.withdrawn", with_code("dossier.withdrawn", code))
    assert (outcome.record.reason, deferred(outcome)) == ("unknown_dossier", True)
    assert routes(outcome) == []  # parked: the unit hears nothing yet
    assert code not in str(outcome.record.detail)


def test_a_withdrawal_after_the_result_is_ready_is_refused_and_cancels_nothing(settings: Settings) -> None:
    hub = hub_with(settings)
    filing = example("dossier.submitted")  # the post is to collect the paper originals
    hub.send("portal", "dossier.submitted", filing)
    for status, at in ((2, "20261129090000"), (4, "20261129100000"), (9, "20261129110000")):
        step = {**_onestop_step(filing["MaHoSo"]), "TrangThaiHoSo": status, "ThoiDiemXuLy": at}
        assert forwarded(hub.send("onestop", "dossier.progress", step))
    late = {**example("dossier.withdrawn"), "ThoiDiem": "20261129120000"}
    outcome = hub.send("portal", "dossier.withdrawn", late)
    assert (outcome.record.reason, deferred(outcome)) == ("invalid_transition", False)
    assert routes(outcome) == [("hub.dead.portal", "dossier.withdrawn")]
    assert not egress(outcome, "postal", "order.cancel")
    dossier = hub.dossiers.load(filing["MaHoSo"])
    assert dossier is not None
    assert (dossier.status, dossier.orders[0].cancelled) == (9, False)


def _onestop_step(code: str) -> dict[str, Any]:
    step: dict[str, Any] = json.loads((SAMPLES / "onestop.dossier.progress.json").read_text(encoding="utf-8"))
    return {**step, "MaHoSo": code}


@pytest.mark.parametrize(
    ("kind", "change", "path"),
    [
        ("dossier.withdrawn", {"ThoiDiem": "20260230101500"}, "$.ThoiDiem: value_error"),
        ("dossier.withdrawn", {"ThoiDiem": "2026-11-29"}, "$.ThoiDiem: string_pattern_mismatch"),
        ("dossier.withdrawn", {"LyDo": ""}, "$.LyDo: string_too_short"),
        ("dossier.withdrawn", {"MaHoSo": "not a code"}, "$.MaHoSo: string_pattern_mismatch"),
        ("payment.completed", {"SoTien": -1}, "$.SoTien: greater_than_equal"),
        ("payment.completed", {"SoTien": "8000"}, "$.SoTien: int_type"),
        ("payment.completed", {"MaGiaoDich": "X" * 65}, "$.MaGiaoDich: string_too_long"),
        ("payment.completed", {"KenhThanhToan": "P" * 65}, "$.KenhThanhToan: string_too_long"),
        ("payment.completed", {"ThoiDiemThanhToan": "20261332084500"}, "$.ThoiDiemThanhToan: value_error"),
    ],
)
def test_portal_field_rules(settings: Settings, kind: str, change: dict[str, Any], path: str) -> None:
    outcome = process(settings, kind, {**example(kind), **change})
    assert outcome.record.reason == "validation_failed"
    assert str(outcome.record.detail).startswith(path)


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_field_is_named(settings: Settings, kind: str) -> None:
    body = example(kind)
    del body["MaHoSo"]
    outcome = process(settings, kind, body)
    assert outcome.record.reason == "validation_failed"
    assert str(outcome.record.detail).startswith("$.MaHoSo: missing")
