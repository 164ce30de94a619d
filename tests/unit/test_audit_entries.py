"""Audit entries from outcomes: personal values split off by the schemas' and models' markings, the
unread body of a rejection kept whole (sealed), nothing personal in the clear part."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from hub.app import audit_entries
from hub.audit.entries import WHOLE_BODY
from hub.audit.personal import MASK, merge, split
from hub.bus.ingress import ingress_message
from hub.envelope import Outbound
from hub.settings import Settings
from tests.connectors.harness import REGISTRY, InMemoryHub, sample

BUILD = audit_entries(REGISTRY)


def portal_message(body: bytes) -> Outbound:
    return ingress_message(
        "portal", "dossier.submitted", body, message_id="m-1", user_id="guest", timestamp=1
    )


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        ({"a": 1, "b": {"c": "x", "d": "y"}}, frozenset({"b.c"})),
        ({"list": [{"name": "p", "k": 1}, {"name": "q", "k": 2}]}, frozenset({"list.name"})),
        ({"whole": {"x": 1}, "none": None}, frozenset({"whole", "none"})),
    ],
)
def test_split_then_merge_gives_the_payload_back(payload: dict[str, Any], paths: frozenset[str]) -> None:
    clear, personal = split(payload, paths)
    assert merge(clear, personal) == payload
    assert all(value is not None for value in personal.values())


def test_a_forwarded_filing_and_its_outputs_keep_no_personal_value_in_clear(settings: Settings) -> None:
    filing = sample("portal.dossier.submitted")
    outcome = InMemoryHub(settings).send("portal", "dossier.submitted", filing)
    entries = BUILD.of(outcome)
    assert [(e.entry, e.partner, e.kind) for e in entries] == [
        ("in", "portal", "dossier.submitted"),
        ("out", "events", "dossier.submitted"),
        ("out", "onestop", "dossier.submitted"),
        ("out", "events", "postal.order.requested"),
        ("out", "postal", "order.create"),
    ]
    personal_values = [filing["ChuHoSo"], filing["SoGiayToChuHoSo"], filing["SoDienThoai"], filing["Email"]]
    personal_values += [filing["DiaChiThuGom"]["diaChi"], filing["DiaChiNhanKetQua"]["soDienThoai"]]
    for entry in entries:
        assert entry.clear is not None
        for value in personal_values:  # the clear part is ASCII-escaped JSON: compare alike
            assert json.dumps(value)[1:-1] not in entry.clear, (entry.partner, entry.kind)
    first = entries[0]
    assert json.loads(str(first.clear))["ChuHoSo"] == MASK
    assert merge(json.loads(str(first.clear)), first.personal) == filing
    assert first.citizen_id == filing["SoGiayToChuHoSo"]
    assert entries[1].citizen_id == filing["SoGiayToChuHoSo"]  # applicant.id_number of the event
    assert {e.key_ref for e in entries} == {filing["MaHoSo"]}


def test_a_rejected_body_is_kept_whole_as_personal_and_a_too_large_one_not_at_all(settings: Settings) -> None:
    hub = InMemoryHub(settings)
    rejected = hub.send(
        "portal", "dossier.submitted", {**sample("portal.dossier.submitted"), "LoaiDoiTuong": 9}
    )
    [entry] = BUILD.of(rejected)
    assert (entry.entry, entry.reason, entry.clear) == ("rejected", "validation_failed", None)
    assert set(entry.personal) == {WHOLE_BODY}
    huge = portal_message(b"{" + b" " * settings.max_body_bytes + b"}")
    [large] = BUILD.of(hub.deliver(huge))
    assert (large.reason, dict(large.personal)) == ("too_large", {})


def test_a_rejected_message_id_with_control_characters_is_stored_escaped(settings: Settings) -> None:
    message = portal_message(b"{}")
    odd = replace(message, properties=replace(message.properties, message_id="bad\x00id"))
    outcome = InMemoryHub(settings).deliver(odd)
    assert outcome.record.reason == "missing_property"
    assert outcome.record.message_id == "bad\\x00id"
