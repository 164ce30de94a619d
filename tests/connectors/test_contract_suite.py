"""The same contract tests for every connector, over the embedded (in-memory) bus.

Each partner's ingress kinds are taken from its connector's routes and their samples from
``connectors/samples``, so a connector that gains a kind is covered without editing this file.
The checks: every sample flows; every envelope rule dead-letters with its reason, the body kept
whole and no value in the headers; every required field and every unknown field is refused with
its path and rule; a replay yields the same output ids.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

import connectors
from hub import app
from hub.bus.topology import dead_letter_queue
from hub.envelope import HEADER_CONTRACT_VERSION, HEADER_DETAIL, HEADER_REASON, Outbound, ingress_message
from hub.errors import Reason
from hub.settings import Settings
from tests.connectors.harness import SAMPLES, InMemoryHub, sample
from tests.helpers import WAIT, running

# What must have happened before a sample of a kind can flow: (partner, kind, changes) in order.
Step = tuple[str, str, dict[str, Any]]
_RECEIVED: list[Step] = [("onestop", "dossier.received", {})]
_PROCESSING: list[Step] = [*_RECEIVED, ("onestop", "dossier.progress", {})]  # 2 -> 4
PREREQUISITES: dict[tuple[str, str], list[Step]] = {
    ("portal", "dossier.withdrawn"): [("portal", "dossier.submitted", {})],
    ("portal", "payment.completed"): [("portal", "dossier.submitted", {})],
    ("onestop", "dossier.progress"): _RECEIVED,
    ("onestop", "result.ready"): _PROCESSING,
    ("postal", "shipment.status"): [
        *_PROCESSING,
        ("onestop", "dossier.progress", {"TrangThaiHoSo": 9, "ThoiDiemXuLy": "20261203140000"}),
        ("onestop", "result.ready", {}),
    ],
}

KINDS = [(partner, kind) for partner in connectors.partners() for kind in connectors.load(partner).routes]
REQUIRED_FIELDS = [
    (partner, kind, name)
    for partner, kind in KINDS
    for name, info in connectors.load(partner).routes[kind].model.model_fields.items()
    if info.is_required()
]


def message(partner: str, kind: str, message_id: str, **changes: Any) -> Outbound:
    body = {**sample(f"{partner}.{kind}"), **changes}
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message(partner, kind, raw, message_id=message_id, user_id="guest", timestamp=1)


def with_prerequisites(partner: str, kind: str) -> list[Outbound]:
    steps = [*PREREQUISITES.get((partner, kind), []), (partner, kind, {})]
    return [message(p, k, f"{p}-{i}", **changes) for i, (p, k, changes) in enumerate(steps)]


def test_every_ingress_kind_has_a_sample() -> None:
    missing = [f"{p}.{k}" for p, k in KINDS if not (SAMPLES / f"{p}.{k}.json").is_file()]
    assert not missing


@pytest.mark.parametrize(("partner", "kind"), KINDS)
def test_the_sample_flows_and_a_replay_yields_the_same_output_ids(
    settings: Settings, partner: str, kind: str
) -> None:
    runs = []
    for _ in range(2):
        hub = InMemoryHub(settings)
        outcomes = [hub.deliver(m) for m in with_prerequisites(partner, kind)]
        assert not any(o.rejected for o in outcomes), [o.record.detail for o in outcomes]
        runs.append([o.properties.message_id for o in outcomes[-1].outputs])
    assert runs[0]
    assert runs[0] == runs[1]


def envelope_breaches(partner: str, kind: str, max_body: int) -> list[tuple[Reason, Outbound]]:
    """One message per envelope rule of the contract, each breaking only that rule."""
    ids = iter(range(100))

    def good(**properties: Any) -> Outbound:
        fresh = message(partner, kind, f"{partner}-{next(ids)}")
        return replace(fresh, properties=replace(fresh.properties, **properties))

    version_2 = {**good().properties.headers, HEADER_CONTRACT_VERSION: "2"}
    unknown = good(type="no.such.kind")
    return [
        (Reason.MALFORMED_JSON, replace(good(), body=good().body[:-3])),
        (Reason.INVALID_UTF8, replace(good(), body=b'{"x": "\xff"}')),
        (Reason.TOO_LARGE, replace(good(), body=good().body + b" " * max_body)),
        (Reason.MISSING_PROPERTY, good(message_id=None)),
        (Reason.MISSING_PROPERTY, good(content_type="text/plain")),
        (Reason.MISSING_PROPERTY, good(type="something.else")),
        (Reason.MISSING_PROPERTY, good(timestamp=None)),
        (Reason.WRONG_INGRESS, good(user_id="intruder")),
        (Reason.UNKNOWN_KIND, replace(unknown, routing_key="no.such.kind")),
        (Reason.UNSUPPORTED_CONTRACT_VERSION, good(headers=version_2)),
        (Reason.VALIDATION_FAILED, message(partner, kind, f"{partner}-extra", Unexpected="x")),
    ]


@pytest.mark.parametrize("partner", connectors.partners())
def test_every_envelope_rule_dead_letters_with_its_reason_over_the_bus(
    settings: Settings, embedded: str, partner: str
) -> None:
    kind = next(iter(connectors.load(partner).routes))
    breaches = envelope_breaches(partner, kind, settings.max_body_bytes)
    hub = app.build(settings, embedded=embedded)
    with running(hub) as run:
        hub.transport.publish_confirmed([m for _, m in breaches])
        assert run.worker.wait_settled(len(breaches), WAIT)
    letters = hub.transport.take(dead_letter_queue(partner), limit=100, partner=partner)
    assert [letter.properties.headers[HEADER_REASON] for letter in letters] == [str(r) for r, _ in breaches]
    assert [letter.body for letter in letters] == [m.body for _, m in breaches]  # kept whole, to replay
    for letter in letters:
        headers = json.dumps(letter.properties.headers, ensure_ascii=False)
        assert "intruder" not in str(letter.properties.headers.get(HEADER_DETAIL))
        assert not any(len(v) > 3 and v in headers for v in _string_values(sample(f"{partner}.{kind}")))


@pytest.mark.parametrize(("partner", "kind", "field"), REQUIRED_FIELDS)
def test_every_required_field_is_named_when_missing(
    settings: Settings, partner: str, kind: str, field: str
) -> None:
    hub = InMemoryHub(settings)
    body = sample(f"{partner}.{kind}")
    body.pop(field)
    outcome = hub.send(partner, kind, body)
    assert (outcome.record.reason, outcome.record.detail) == (
        "validation_failed",
        f"$.{field}: missing (Field required)",
    )


def _string_values(value: Any) -> list[str]:
    """Every string in a JSON value: what a dead letter's headers must never quote."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _string_values(item)]
    if isinstance(value, list):
        return [s for item in value for s in _string_values(item)]
    return []
