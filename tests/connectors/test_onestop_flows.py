"""Flows 2 and 3: the one-stop-shop system's counter filings and processing steps reach the portal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import connectors
from hub.agencies import AgencyRegistry
from hub.bus.ingress import ingress_message
from hub.connector import Context
from hub.dossiers.book import DossierBook, MemoryDossiers
from hub.envelope import Delivery
from hub.event_seal import KeysInMemory
from hub.outcomes import Outcome
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings

SAMPLES = Path(connectors.__file__).parent / "samples"
REGISTRY = Registry.load(CATALOGUE)


def example(kind: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES / f"onestop.{kind}.json").read_text(encoding="utf-8"))
    return body


def process(
    settings: Settings,
    kind: str,
    body: dict[str, Any],
    after_received: bool = False,
    processing: bool = False,
) -> Outcome:
    """``body`` through the pipeline; ``after_received``: once the sample dossier was received;
    ``processing``: and its sample step (to 4) taken."""
    dossiers = MemoryDossiers()
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    context = Context(AgencyRegistry(settings.agencies), DossierBook(dossiers.load))
    pipeline = Pipeline(chosen, settings, context, REGISTRY, keys=KeysInMemory())
    earlier = []
    if after_received or processing:
        earlier.append("dossier.received")
    if processing:
        earlier.append("dossier.progress")
    for kind_before in earlier:
        dossiers.apply(_run(pipeline, kind_before, example(kind_before)).changes)
    return _run(pipeline, kind, body)


def _run(pipeline: Pipeline, kind: str, body: dict[str, Any]) -> Outcome:
    raw = json.dumps(body, ensure_ascii=False).encode()
    message = ingress_message("onestop", kind, raw, message_id=f"os-{kind}", user_id="guest", timestamp=1)
    return pipeline.process(
        Delivery("onestop", message.exchange, message.routing_key, raw, message.properties)
    )


def routes(outcome: Outcome) -> list[tuple[str, str]]:
    return [(o.exchange, o.routing_key) for o in outcome.outputs]


def test_a_counter_filing_is_synced_to_the_portal_then_its_acceptance(settings: Settings) -> None:
    received = example("dossier.received")
    outcome = process(settings, "dossier.received", received)
    assert routes(outcome) == [
        ("hub.events", "dossier.received"),
        ("egress.portal", "DongBoHoSoMC"),
        ("egress.portal", "CapNhatTienDoHoSoMC"),
    ]
    event, sync, progress = outcome.outputs
    datum = REGISTRY.decode(event.body, str(event.properties.headers["x-hub-schema-fingerprint"]))
    assert (datum["channel"], datum["counter_role"]) == ("IN_PERSON", "POSTAL_STAFF")
    body = json.loads(sync.body)
    assert {k: body[k] for k in ("MaHoSo", "ChuHoSo", "NgayTiepNhan", "NgayHenTra")} == {
        k: received[k] for k in ("MaHoSo", "ChuHoSo", "NgayTiepNhan", "NgayHenTra")
    }
    assert (body["TrangThaiHoSo"], body["HinhThuc"], body["KenhThucHien"], body["DonViXuLy"]) == (
        2,
        1,
        1,
        received["MaCoQuan"],
    )
    record = json.loads(progress.body)
    assert (record["TrangThai"], record["NguoiXuLy"], record["NgayKetThucTheoQuyDinh"]) == (
        2,
        received["NguoiTiepNhan"],
        received["NgayHenTra"],
    )
    assert {o.properties.correlation_id for o in outcome.outputs} == {received["MaHoSo"]}
    assert len({o.properties.message_id for o in outcome.outputs}) == 3


def test_a_processing_step_becomes_a_progress_record(settings: Settings) -> None:
    step = {**example("dossier.progress"), "NgayHenTra": "20261210170000"}
    outcome = process(settings, "dossier.progress", step, after_received=True)
    assert routes(outcome) == [("hub.events", "dossier.progress"), ("egress.portal", "CapNhatTienDoHoSoMC")]
    record = json.loads(outcome.outputs[1].body)
    assert record == {
        "MaHoSo": step["MaHoSo"],
        "NguoiXuLy": step["NguoiXuLy"],
        "ChucDanh": step["ChucDanh"],
        "ThoiDiemXuLy": step["ThoiDiemXuLy"],
        "PhongBanXuLy": step["PhongBanXuLy"],
        "NoiDungXuLy": step["NoiDungXuLy"],
        "TrangThai": 4,
        "NgayBatDau": step["ThoiDiemXuLy"],
        "NgayKetThucTheoQuyDinh": "20261210170000",
    }


def test_a_ready_result_is_a_canonical_event(settings: Settings) -> None:
    outcome = process(settings, "result.ready", example("result.ready"), processing=True)
    # The sample dossier's result goes by post: flow 4's order follows (see test_postal_flows.py),
    # then its step to 9 (see test_dossier_rules.py).
    assert routes(outcome)[0] == ("hub.events", "result.ready")
    event = outcome.outputs[0]
    datum = REGISTRY.decode(event.body, str(event.properties.headers["x-hub-schema-fingerprint"]))
    assert (datum["amount_due"], datum["documents"][0]["reference"]) == (8000, "125/2026/GKS")


@pytest.mark.parametrize(
    ("kind", "change", "path"),
    [
        ("dossier.received", {"VaiTroTiepNhan": "BAO_VE"}, "$.VaiTroTiepNhan: literal_error"),
        ("dossier.received", {"KenhThucHien": 4}, "$.KenhThucHien: literal_error"),
        ("dossier.received", {"NgayHenTra": "20261304170000"}, "$.NgayHenTra: value_error"),
        ("dossier.progress", {"TrangThaiHoSo": 11}, "$.TrangThaiHoSo: literal_error"),
        ("dossier.progress", {"NguoiXuLy": ""}, "$.NguoiXuLy: string_too_short"),
        ("result.ready", {"LePhiConThieu": -1}, "$.LePhiConThieu: greater_than_equal"),
    ],
)
def test_onestop_field_rules(settings: Settings, kind: str, change: dict[str, Any], path: str) -> None:
    outcome = process(settings, kind, {**example(kind), **change}, after_received=True)
    assert outcome.record.reason == "validation_failed"
    assert str(outcome.record.detail).startswith(path)


def test_a_counter_filing_for_an_unknown_unit_is_dead_lettered(settings: Settings) -> None:
    outcome = process(
        settings, "dossier.received", {**example("dossier.received"), "MaCoQuan": "000.00.99.H30"}
    )
    assert (outcome.record.reason, routes(outcome)) == (
        "unknown_agency",
        [("hub.dead.onestop", "dossier.received")],
    )
