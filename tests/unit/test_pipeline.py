"""The pipeline alone: every reason code this stage produces, and the first flow's output properties."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import connectors
from connectors.portal.fake import FakePortal
from hub.agencies import AgencyRegistry
from hub.connector import Context
from hub.envelope import Delivery, Outbound
from hub.errors import Reason
from hub.event_seal import KeysInMemory
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT, PROVINCE_UNIT
from tests.helpers import opened_event

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
KIND = "dossier.submitted"


REGISTRY = Registry.load(CATALOGUE)
KEYS = KeysInMemory()  # the dossiers' data keys, sealing the events' personal fields


def pipeline(settings: Settings) -> Pipeline:
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    context = Context(AgencyRegistry(settings.agencies))
    return Pipeline(chosen, settings, context, REGISTRY, keys=KEYS, clock=lambda: NOW)


def delivered(message: Outbound, partner: str = "portal") -> Delivery:
    return Delivery(partner, message.exchange, message.routing_key, message.body, message.properties)


def with_properties(message: Outbound, **changes: Any) -> Outbound:
    return replace(message, properties=replace(message.properties, **changes))


def reason_of(outcome: Outcome) -> str:
    assert outcome.rejected
    (output,) = outcome.outputs
    assert output.exchange == "hub.dead.portal"
    return str(output.properties.headers["x-hub-reason"])


def test_each_bad_message_of_the_fake_portal_gets_its_reason(settings: Settings, portal: FakePortal) -> None:
    run = pipeline(settings)
    for expected, message in portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes):
        assert reason_of(run.process(delivered(message))) == expected


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"message_id": "x" * 129}, "properties.message_id: must be 1..128 printable ASCII"),
        ({"message_id": "caf\u00e9"}, "properties.message_id: must be 1..128 printable ASCII"),
        ({"content_type": "text/plain"}, "properties.content_type: must be application/json"),
        ({"type": None}, "properties.type: required"),
        ({"type": "payment.completed"}, "properties.type: must equal the routing key"),
        ({"timestamp": None}, "properties.timestamp: required"),
        ({"delivery_mode": 1}, "properties.delivery_mode: must be 2"),
        ({"headers": {}}, "headers.x-contract-version: required"),
    ],
)
def test_missing_or_broken_properties(
    settings: Settings, portal: FakePortal, changes: dict[str, Any], detail: str
) -> None:
    message = with_properties(portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT)), **changes)
    outcome = pipeline(settings).process(delivered(message))
    assert reason_of(outcome) == Reason.MISSING_PROPERTY
    assert str(outcome.outputs[0].properties.headers["x-hub-detail"]).startswith(detail)


def test_a_message_without_user_id_is_wrong_ingress(settings: Settings, portal: FakePortal) -> None:
    message = with_properties(portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT)), user_id=None)
    assert reason_of(pipeline(settings).process(delivered(message))) == Reason.WRONG_INGRESS


def test_users_are_configured_per_ingress(settings: Settings, portal: FakePortal) -> None:
    strict = settings.model_copy(update={"ingress_users": {"portal": ["portal"]}})
    message = portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT))  # published as guest
    assert reason_of(pipeline(strict).process(delivered(message))) == Reason.WRONG_INGRESS
    as_portal = with_properties(message, user_id="portal")
    assert not pipeline(strict).process(delivered(as_portal)).rejected


def test_the_size_check_runs_before_any_other(settings: Settings, portal: FakePortal) -> None:
    small = settings.model_copy(update={"max_body_bytes": 10})
    message = with_properties(portal.message(KIND, b"\xff" * 11), message_id=None)
    assert reason_of(pipeline(small).process(delivered(message))) == Reason.TOO_LARGE


@pytest.mark.parametrize(
    ("body", "reason", "detail"),
    [
        (b"[" * 5000, Reason.MALFORMED_JSON, "body: Invalid JSON"),
        (b'{"MaHoSo": 1' + b"0" * 5000 + b"}", Reason.MALFORMED_JSON, "body: Invalid JSON"),
        (b"[]", Reason.VALIDATION_FAILED, "$: model_type"),
        (b"{}", Reason.VALIDATION_FAILED, "$.MaHoSo: missing"),
    ],
)
def test_bodies_that_are_not_a_dossier(
    settings: Settings, portal: FakePortal, body: bytes, reason: Reason, detail: str
) -> None:
    outcome = pipeline(settings).process(delivered(portal.message(KIND, body)))
    assert reason_of(outcome) == reason
    assert str(outcome.outputs[0].properties.headers["x-hub-detail"]).startswith(detail)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"SoGiayToChuHoSo": "12345678901X"}, "$.SoGiayToChuHoSo: string_pattern_mismatch"),
        ({"SoDienThoai": "+8412"}, "$.SoDienThoai: string_pattern_mismatch"),
        ({"Email": "not-an-address"}, "$.Email: string_pattern_mismatch"),
        ({"NgayNopHoSo": "20260230120000"}, "$.NgayNopHoSo: value_error"),
        ({"MaHoSo": "abc"}, "$.MaHoSo: string_pattern_mismatch"),
        ({"MaCoQuan": "H3.01"}, "$.MaCoQuan: string_pattern_mismatch"),
        ({"MaTTHC": "1.1"}, "$.MaTTHC: string_pattern_mismatch"),
        ({"LoaiDoiTuong": 5}, "$.LoaiDoiTuong: literal_error"),
        ({"LoaiDoiTuong": "1"}, "$.LoaiDoiTuong: literal_error"),
        ({"ChuHoSo": "Lan" * 40_000}, "$.ChuHoSo: string_too_long"),
        ({"ChuHoSo": "Nguy\u0000n"}, "$.ChuHoSo: string_pattern_mismatch"),
        (
            {"DanhSachLePhi": [{"TenPhiLePhi": "phí", "MucPhi": 10**13}]},
            "$.DanhSachLePhi[0].MucPhi: less_than",
        ),
        ({"HinhThucNhanKetQua": 1, "DiaChiNhanKetQua": None}, "$.DiaChiNhanKetQua: value_error"),
        ({"YeuCauThuGom": True}, "$.DiaChiThuGom: value_error"),
        ({"Emial": "typo@example.vn"}, "$.Emial: extra_forbidden"),
    ],
)
def test_field_rules_name_the_path_and_rule_never_the_value(
    settings: Settings, portal: FakePortal, change: dict[str, Any], path: str
) -> None:
    body = {**portal.dossier_submitted(PROVINCE_UNIT), **change}
    body = {k: v for k, v in body.items() if v is not None}
    outcome = pipeline(settings).process(delivered(portal.message(KIND, body)))
    assert reason_of(outcome) == Reason.VALIDATION_FAILED
    detail = str(outcome.outputs[0].properties.headers["x-hub-detail"])
    assert detail.startswith(path)
    for value in change.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in detail


def test_a_dead_letter_keeps_the_original_for_replay(settings: Settings, portal: FakePortal) -> None:
    message = portal.message(KIND, {**portal.dossier_submitted(PROVINCE_UNIT), "MaCoQuan": "000.00.99.H30"})
    outcome = pipeline(settings).process(delivered(message))
    (dead,) = outcome.outputs
    assert dead.body == message.body
    assert dead.routing_key == KIND
    assert dead.properties.message_id == message.properties.message_id
    assert dead.properties.user_id is None  # the broker would refuse a foreign user_id
    headers = dead.properties.headers
    assert headers["x-hub-original-user-id"] == "guest"
    assert headers["x-hub-original-exchange"] == "ingress.portal"
    assert headers["x-contract-version"] == "1"
    assert (headers["x-hub-reason"], headers["x-hub-detail"]) == (
        "unknown_agency",
        "MaCoQuan: not in the agency registry",
    )
    assert outcome.record.dossier == json.loads(message.body)["MaHoSo"]


def test_dead_letter_headers_carry_no_personal_data(settings: Settings, portal: FakePortal) -> None:
    body = portal.dossier_submitted(PROVINCE_UNIT)
    personal = [body["ChuHoSo"], body["SoGiayToChuHoSo"], body["SoDienThoai"], body["Email"]]
    for _, message in portal.bad_messages(PROVINCE_UNIT, settings.max_body_bytes):
        text = json.dumps(dict(pipeline(settings).process(delivered(message)).outputs[0].properties.headers))
        assert not any(value in text for value in personal)


def test_the_first_flow_reaches_the_owning_unit_with_the_contract_properties(
    settings: Settings, portal: FakePortal
) -> None:
    body = portal.dossier_submitted(LEGACY_UNIT, by_post=True)
    message = portal.message(KIND, body)
    outcome = pipeline(settings).process(delivered(message))
    (event, out) = outcome.outputs
    assert (out.exchange, out.routing_key) == ("egress.onestop", KIND)
    p = out.properties
    assert (p.type, p.correlation_id, p.content_type, p.delivery_mode) == (
        KIND,
        body["MaHoSo"],
        "application/json",
        2,
    )
    assert p.timestamp == int(NOW.timestamp())
    signer = settings.egress_signer()
    assert signer is not None
    assert dict(p.headers) == {
        "x-contract-version": "1",
        "x-hub-source-message-id": message.properties.message_id,
        "x-hub-unit": CURRENT_UNIT,  # the legacy unit's successor owns the work now
        "x-hub-key-id": signer.key_id,
        "x-hub-signature": p.headers["x-hub-signature"],  # hub.signatures checks it verifies
    }
    assert json.loads(out.body) == body
    assert (event.exchange, event.routing_key, event.properties.correlation_id) == (
        "hub.events",
        KIND,
        body["MaHoSo"],
    )
    assert outcome.record.outcome == "forwarded"
    assert outcome.record.dossier == body["MaHoSo"]


def test_output_ids_are_deterministic(settings: Settings, portal: FakePortal) -> None:
    run = pipeline(settings)
    message = portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT))
    first = [o.properties.message_id for o in run.process(delivered(message)).outputs]
    again = [o.properties.message_id for o in run.process(delivered(message)).outputs]
    other = run.process(delivered(with_properties(message, message_id="another"))).outputs[0]
    assert first == again
    assert len(set(first)) == len(first)
    assert all(str(i).startswith("hub-") for i in first)
    assert other.properties.message_id not in first


def test_kinds_an_ingress_does_not_accept_are_unknown(settings: Settings, portal: FakePortal) -> None:
    message = portal.message("dossier.submitted", portal.dossier_submitted(PROVINCE_UNIT))
    moved = replace(message, exchange="ingress.postal")  # a portal kind on the post's ingress
    outcome = pipeline(settings).process(delivered(moved, partner="postal"))
    assert outcome.rejected
    assert outcome.outputs[0].exchange == "hub.dead.postal"
    assert outcome.record.reason == Reason.UNKNOWN_KIND


def test_the_canonical_event_decodes_to_the_catalogue_record(settings: Settings, portal: FakePortal) -> None:
    body = portal.dossier_submitted(LEGACY_UNIT, by_post=True, collect=True)
    message = portal.message(KIND, body)
    event = pipeline(settings).process(delivered(message)).outputs[0]
    headers = event.properties.headers
    assert headers["x-hub-schema"] == "hub.dossier.v1.DossierSubmitted"
    assert event.properties.content_type == "application/vnd.apache.avro+binary"
    datum = REGISTRY.decode(event.body, str(headers["x-hub-schema-fingerprint"]))
    assert datum["header"]["source_message_id"] == message.properties.message_id
    assert datum["header"]["source_partner"] == "PORTAL"
    assert (datum["dossier_code"], datum["receiving_agency"], datum["owning_unit"]) == (
        body["MaHoSo"],
        LEGACY_UNIT,
        CURRENT_UNIT,
    )
    # Personal fields travel sealed under the dossier's key, in a string of the record's own type.
    assert datum["applicant"]["id_number"].startswith(f"hub-sealed:v1:{body['MaHoSo']}:")
    assert body["SoGiayToChuHoSo"].encode() not in event.body
    assert body["ChuHoSo"].encode() not in event.body
    opened = opened_event(event, KEYS)
    assert opened["applicant"]["id_number"] == body["SoGiayToChuHoSo"]
    assert datum["result_delivery"] == "BY_POST"
    assert opened["result_address"]["street"] == body["DiaChiNhanKetQua"]["diaChi"]
    assert event.payload["applicant"]["id_number"] == body["SoGiayToChuHoSo"]  # clear, for the audit
    assert datum["collection_requested"] is True
    submitted = datetime.strptime(body["NgayNopHoSo"], "%Y%m%d%H%M%S")
    assert datum["submitted_at"].astimezone(UTC).replace(tzinfo=None) == submitted - timedelta(hours=7)


FINGERPRINT = "headers.x-hub-schema-fingerprint"


def as_canonical_ingress(message: Outbound, event: Outbound) -> Outbound:
    """The hub's canonical event published back on ingress, as a partner adopting Avro would: with its
    personal fields in clear (the partner's own data), as the hub's ``payload`` keeps them."""
    headers = {**message.properties.headers, **event.properties.headers}
    body, _ = REGISTRY.encode(str(headers["x-hub-schema"]), event.payload)
    return replace(
        message,
        body=body,
        properties=replace(
            message.properties,
            message_id="canonical-1",
            content_type=event.properties.content_type,
            headers=headers,
        ),
    )


def test_a_canonical_event_on_ingress_flows_like_its_json(settings: Settings, portal: FakePortal) -> None:
    run = pipeline(settings)
    message = portal.message(KIND, portal.dossier_submitted(LEGACY_UNIT, by_post=True))
    event, native_out = run.process(delivered(message)).outputs
    outcome = run.process(delivered(as_canonical_ingress(message, event)))
    assert not outcome.rejected, outcome.record.detail
    assert json.loads(outcome.outputs[1].body) == json.loads(native_out.body)


@pytest.mark.parametrize(
    ("header", "reason", "detail"),
    [
        (
            "0123456789abcdef",
            Reason.UNKNOWN_SCHEMA,
            "headers.x-hub-schema-fingerprint: not a schema of this hub",
        ),
        (None, Reason.MISSING_PROPERTY, "headers.x-hub-schema-fingerprint: required with"),
        (
            "withdrawn",
            Reason.VALIDATION_FAILED,
            "headers.x-hub-schema-fingerprint: must name hub.dossier.v1.",
        ),
    ],
)
def test_canonical_ingress_with_a_bad_fingerprint_is_dead_lettered(
    settings: Settings, portal: FakePortal, header: str | None, reason: Reason, detail: str
) -> None:
    run = pipeline(settings)
    message = portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT))
    event = run.process(delivered(message)).outputs[0]
    canonical = as_canonical_ingress(message, event)
    headers = dict(canonical.properties.headers)
    if header is None:
        del headers["x-hub-schema-fingerprint"]
    else:
        withdrawn = REGISTRY.current("hub.dossier.v1.DossierWithdrawn").fingerprint
        headers["x-hub-schema-fingerprint"] = withdrawn if header == "withdrawn" else header
    canonical = replace(canonical, properties=replace(canonical.properties, headers=headers))
    outcome = run.process(delivered(canonical))
    assert reason_of(outcome) == reason
    assert str(outcome.outputs[0].properties.headers["x-hub-detail"]).startswith(detail)


def test_an_undecodable_canonical_body_is_dead_lettered(settings: Settings, portal: FakePortal) -> None:
    run = pipeline(settings)
    message = portal.message(KIND, portal.dossier_submitted(PROVINCE_UNIT))
    event = run.process(delivered(message)).outputs[0]
    truncated = replace(as_canonical_ingress(message, event), body=event.body[:20])
    outcome = run.process(delivered(truncated))
    assert reason_of(outcome) == Reason.VALIDATION_FAILED
    assert outcome.outputs[0].properties.headers["x-hub-detail"] == (
        "body: not a hub.dossier.v1.DossierSubmitted in Avro binary"
    )
