"""Flows 6 and 7, their stateless part: the portal's withdrawals and online payments reach the unit
that owns the dossier, told from the dossier code's agency prefix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import connectors
from hub.agencies import AgencyRegistry
from hub.connector import Context
from hub.envelope import Delivery, ingress_message
from hub.pipeline import Outcome, Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import AgencySettings, Settings
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT, PROVINCE_UNIT

SAMPLES = Path(connectors.__file__).parent / "samples"
REGISTRY = Registry.load(CATALOGUE)
KINDS = ("dossier.withdrawn", "payment.completed")
RECORDS = {
    "dossier.withdrawn": "hub.dossier.v1.DossierWithdrawn",
    "payment.completed": "hub.payment.v1.PaymentCompleted",
}
MERGED_INTO = "000.00.60.H30"


def example(kind: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / f"portal.{kind}.json").read_text(encoding="utf-8"))
    return body


def process(
    settings: Settings,
    kind: str,
    body: dict[str, Any],
    agencies: list[AgencySettings] | None = None,
) -> Outcome:
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    registry = AgencyRegistry(settings.agencies if agencies is None else agencies)
    pipeline = Pipeline(chosen, settings, Context(registry), REGISTRY)
    raw = json.dumps(body, ensure_ascii=False).encode()
    message = ingress_message("portal", kind, raw, message_id="pt-1", user_id="guest", timestamp=1)
    return pipeline.process(
        Delivery("portal", message.exchange, message.routing_key, raw, message.properties)
    )


def routes(outcome: Outcome) -> list[tuple[str, str]]:
    return [(o.exchange, o.routing_key) for o in outcome.outputs]


def with_code(kind: str, code: str) -> dict[str, Any]:
    return {**example(kind), "MaHoSo": code}


@pytest.mark.parametrize("kind", KINDS)
def test_the_example_reaches_the_owning_unit_as_the_portal_sent_it(settings: Settings, kind: str) -> None:
    body = example(kind)
    outcome = process(settings, kind, body)
    assert not outcome.rejected, outcome.record.detail
    assert routes(outcome) == [("hub.events", kind), ("egress.onestop", kind)]
    event, egress = outcome.outputs
    assert event.properties.headers["x-hub-schema"] == RECORDS[kind]
    assert json.loads(egress.body) == body
    assert egress.properties.type == kind
    assert egress.properties.headers["x-hub-unit"] == PROVINCE_UNIT
    assert {o.properties.correlation_id for o in outcome.outputs} == {body["MaHoSo"]}
    assert outcome.record.dossier == body["MaHoSo"]


def test_a_withdrawal_is_a_canonical_event(settings: Settings) -> None:
    body = example("dossier.withdrawn")
    event = process(settings, "dossier.withdrawn", body).outputs[0]
    datum = REGISTRY.decode(event.body, str(event.properties.headers["x-hub-schema-fingerprint"]))
    assert datum["dossier_code"] == body["MaHoSo"]
    assert datum["reason"] == body["LyDo"]
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
    outcome = process(settings, kind, example(kind), agencies=merged)
    assert outcome.outputs[1].properties.headers["x-hub-unit"] == MERGED_INTO


@pytest.mark.parametrize("kind", KINDS)
def test_a_legacy_prefix_reaches_todays_unit_in_the_sample_registry(settings: Settings, kind: str) -> None:
    code = f"{LEGACY_UNIT}-250612-0042"
    outcome = process(settings, kind, with_code(kind, code))
    egress = outcome.outputs[1]
    assert egress.properties.headers["x-hub-unit"] == CURRENT_UNIT
    assert json.loads(egress.body)["MaHoSo"] == code


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("code", ["000.00.99.H30-261129-0001", "G09.20-20260609-0092637"])
def test_an_owner_that_cannot_be_told_is_an_unknown_dossier(settings: Settings, kind: str, code: str) -> None:
    outcome = process(settings, kind, with_code(kind, code))
    assert (outcome.record.reason, routes(outcome)) == ("unknown_dossier", [("hub.dead.portal", kind)])
    detail = str(outcome.outputs[0].properties.headers["x-hub-detail"])
    assert detail == "MaHoSo: the owning unit cannot be told from this dossier code"
    assert code not in detail
    assert code.partition("-")[0] not in detail


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
