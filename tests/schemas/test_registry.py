"""The catalogue: every record loads, golden examples round-trip, readers resolve other revisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.errors import Reason, Rejection
from hub.schemas import CATALOGUE
from hub.schemas.registry import HEADER_FINGERPRINT, HEADER_SCHEMA, Registry, SchemaVersion

REGISTRY = Registry.load(CATALOGUE)
EXAMPLES = sorted((CATALOGUE / "examples").glob("*/*.json"))
REQUIRED_RECORDS = {
    "hub.dossier.v1.DossierSubmitted", "hub.dossier.v1.DossierReceived", "hub.dossier.v1.DossierProgressed",
    "hub.dossier.v1.DossierWithdrawn", "hub.payment.v1.PaymentCompleted", "hub.dossier.v1.ResultReady",
    "hub.postal.v1.PostalOrderRequested", "hub.postal.v1.PostalOrderCancelled",
    "hub.postal.v1.ShipmentStatusChanged", "hub.postal.v1.PickupStatusChanged",
    "hub.postal.v1.ResultDeliveryChanged",
}  # fmt: skip


def example(path: Path) -> dict[str, Any]:
    datum: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return datum


def test_the_catalogue_has_every_record_the_flows_need_with_the_major_version_in_the_namespace() -> None:
    assert set(REGISTRY.names()) >= REQUIRED_RECORDS
    assert all(name.split(".")[2] == "v1" for name in REGISTRY.names())


def test_fingerprints_are_distinct_and_stable() -> None:
    fingerprints = [REGISTRY.current(name).fingerprint for name in REGISTRY.names()]
    assert len(set(fingerprints)) == len(fingerprints)
    again = Registry.load(CATALOGUE)
    assert [again.current(name).fingerprint for name in again.names()] == fingerprints


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_examples_round_trip_and_every_released_revision_reads_them(path: Path) -> None:
    name, datum = path.parent.name, example(path)
    payload, headers = REGISTRY.encode(name, datum)
    assert headers == {HEADER_SCHEMA: name, HEADER_FINGERPRINT: REGISTRY.current(name).fingerprint}
    decoded = REGISTRY.decode(payload, headers[HEADER_FINGERPRINT])
    assert REGISTRY.encode(name, decoded)[0] == payload  # decoded values (datetimes) encode the same
    for revision in REGISTRY.released(name):
        seen_by_old = REGISTRY.decode(payload, headers[HEADER_FINGERPRINT], reader=revision)
        assert seen_by_old["dossier_code"] == datum["dossier_code"]


def test_every_record_has_a_minimal_golden_example() -> None:
    assert {p.parent.name for p in EXAMPLES if p.stem == "minimal"} == set(REGISTRY.names())


def test_an_unknown_fingerprint_is_a_clear_rejection() -> None:
    with pytest.raises(Rejection) as caught:
        REGISTRY.decode(b"\x00", "0123456789abcdef")
    assert caught.value.reason == Reason.UNKNOWN_SCHEMA
    assert caught.value.detail == "headers.x-hub-schema-fingerprint: not a schema of this hub"


def test_personal_data_is_found_from_the_schema_markings() -> None:
    submitted = REGISTRY.personal_fields("hub.dossier.v1.DossierSubmitted")
    assert {"applicant.name", "applicant.id_number", "applicant.phone", "applicant.email"} <= submitted
    assert {"result_address.street", "collection_address.full_name"} <= submitted
    assert "dossier_code" not in submitted
    assert "result_address.province" not in submitted  # an administrative area names nobody
    ordered = REGISTRY.personal_fields("hub.postal.v1.PostalOrderRequested")
    assert {"sender.full_name", "receiver.full_name", "receiver.street"} <= ordered  # a named type reused


def progressed(revision: int) -> SchemaVersion:
    return REGISTRY.released("hub.dossier.v1.DossierProgressed")[revision - 1]


def test_a_revision_1_reader_reads_revision_2_records_and_back() -> None:
    first, second = progressed(1), progressed(2)
    new_field = {f["name"] for f in second.schema["fields"]} - {f["name"] for f in first.schema["fields"]}
    assert new_field == {"new_due_at"}
    datum = example(CATALOGUE / "examples" / "hub.dossier.v1.DossierProgressed" / "minimal.json")
    written_by_2, _ = REGISTRY.encode(
        "hub.dossier.v1.DossierProgressed", {**datum, "new_due_at": 1796608215000}
    )
    read_by_1 = REGISTRY.decode(written_by_2, second.fingerprint, reader=first)
    assert "new_due_at" not in read_by_1
    assert read_by_1["content"] == datum["content"]
    written_by_1 = _encode_with(first, datum)
    read_by_2 = REGISTRY.decode(written_by_1, first.fingerprint, reader=second)
    assert read_by_2["new_due_at"] is None  # the default fills what the old writer did not know


def _encode_with(version: SchemaVersion, datum: dict[str, Any]) -> bytes:
    import io

    import fastavro

    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, version.parsed, datum)
    return buffer.getvalue()
