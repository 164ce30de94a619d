"""The same contract tests for every connector; those that need a bus run on the embedded (in-memory)
one and on RabbitMQ (a vhost per test, skipped locally without a broker, failing under CI).

Each partner's ingress kinds are taken from its connector's routes and their samples from
``connectors/samples``, so a connector that gains a kind is covered without editing this file.
The checks: every sample flows; every envelope rule dead-letters with its reason, the body kept
whole and no value in the headers; every required field and every unknown field is refused with
its path and rule; a replay yields the same output ids. A kind whose body a later contract version
changed (a route's ``revisions``) has a sample of that version too, ``<partner>.<kind>.v<version>.json``,
run through the same checks with that version's header.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pydantic import SecretStr

import connectors
from hub import app
from hub.bus.ingress import ingress_message
from hub.bus.topology import dead_letter_queue
from hub.bus.transport import Transport
from hub.envelope import HEADER_CONTRACT_VERSION, HEADER_DETAIL, HEADER_REASON, Outbound
from hub.errors import Reason
from hub.settings import Settings
from tests import rabbit
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
# (partner, kind, version) of every body a later contract version changed.
REVISIONS = [(p, k, v) for p, k in KINDS for v in connectors.load(p).routes[k].revisions]
REQUIRED_REVISED_FIELDS = [
    (partner, kind, version, info.alias or name)
    for partner, kind, version in REVISIONS
    for name, info in connectors.load(partner).routes[kind].revisions[version].model_fields.items()
    if info.is_required()
]
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


def revised_sample(partner: str, kind: str, version: str) -> dict[str, Any]:
    return sample(f"{partner}.{kind}.v{version}")


def accepting(settings: Settings, partner: str, version: str) -> Settings:
    """``settings`` with ``version`` accepted from ``partner`` beside the first one."""
    return settings.model_copy(update={"contract_versions": {partner: ["1", version]}})


def test_every_revision_has_a_sample() -> None:
    assert REVISIONS  # the portal's dossier.submitted version 2, at least
    missing = [f"{p}.{k}.v{v}" for p, k, v in REVISIONS if not (SAMPLES / f"{p}.{k}.v{v}.json").is_file()]
    assert not missing


@pytest.mark.parametrize(("partner", "kind", "version"), REVISIONS)
def test_a_revised_sample_flows_in_its_version_once_accepted_and_is_refused_before(
    settings: Settings, partner: str, kind: str, version: str
) -> None:
    body = revised_sample(partner, kind, version)
    refused = InMemoryHub(settings).send(partner, kind, body, version=version)
    assert refused.record.reason == "unsupported_contract_version"
    hub = InMemoryHub(accepting(settings, partner, version))
    for p, k, changes in PREREQUISITES.get((partner, kind), []):
        assert not hub.send(p, k, {**sample(f"{p}.{k}"), **changes}).rejected
    outcome = hub.send(partner, kind, body, version=version)
    assert outcome.record.outcome == "forwarded", outcome.record.detail
    assert outcome.outputs


@pytest.mark.parametrize(("partner", "kind", "version", "field"), REQUIRED_REVISED_FIELDS)
def test_every_required_field_of_a_revision_is_named_when_missing(
    settings: Settings, partner: str, kind: str, version: str, field: str
) -> None:
    body = revised_sample(partner, kind, version)
    body.pop(field)
    outcome = InMemoryHub(accepting(settings, partner, version)).send(partner, kind, body, version=version)
    assert (outcome.record.reason, outcome.record.detail) == (
        "validation_failed",
        f"$.{field}: missing (Field required)",
    )


@pytest.mark.parametrize(("partner", "kind", "version"), REVISIONS)
def test_an_unknown_field_of_a_revision_is_named(
    settings: Settings, partner: str, kind: str, version: str
) -> None:
    body = {**revised_sample(partner, kind, version), "Unexpected": "x"}
    outcome = InMemoryHub(accepting(settings, partner, version)).send(partner, kind, body, version=version)
    assert (outcome.record.reason, outcome.record.detail) == (
        "validation_failed",
        "$.Unexpected: extra_forbidden (Extra inputs are not permitted)",
    )


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


def envelope_breaches(
    partner: str, kind: str, max_body: int, intruder: str = "intruder"
) -> list[tuple[Reason, Outbound]]:
    """One message per envelope rule of the contract, each breaking only that rule; ``intruder`` is
    the broker user that is not the partner's."""
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
        (Reason.WRONG_INGRESS, good(user_id=intruder)),
        (Reason.UNKNOWN_KIND, replace(unknown, routing_key="no.such.kind")),
        (Reason.UNSUPPORTED_CONTRACT_VERSION, good(headers=version_2)),
        (Reason.VALIDATION_FAILED, message(partner, kind, f"{partner}-extra", Unexpected="x")),
    ]


@dataclass
class Bus:
    """A broker for the suite: the embedded one, or a vhost on RabbitMQ with a second user."""

    settings: Settings
    embedded: str
    intruder: str = "intruder"
    intruder_url: str | None = None  # RabbitMQ stamps user_id: another user publishes as itself

    def hub(self) -> app.Hub:
        return app.build(self.settings, embedded=self.embedded)

    def publish(self, hub: app.Hub, messages: Sequence[Outbound]) -> None:
        """Publish ``messages`` in order, each confirmed before the next."""
        for message in messages:
            as_intruder = self.intruder_url is not None and message.properties.user_id == self.intruder
            transport = Transport(self.intruder_url) if as_intruder else hub.transport
            transport.publish_confirmed([message])


@pytest.fixture(params=["memory", "rabbitmq"])
def bus(request: pytest.FixtureRequest, settings: Settings, embedded: str) -> Iterator[Bus]:
    if request.param == "memory":
        yield Bus(settings, embedded)
        return
    broker_url: str = request.getfixturevalue("broker_url")
    intruder = f"intruder-{uuid.uuid4().hex[:8]}"
    rabbit.create_user(intruder, "intruder-pass", rabbit.vhost_of(broker_url))
    on_rabbit = settings.model_copy(update={"broker_url": SecretStr(broker_url)})
    intruder_url = broker_url.replace("guest:guest@", f"{intruder}:intruder-pass@")
    yield Bus(on_rabbit, embedded, intruder, intruder_url)
    rabbit.delete_user(intruder)


@pytest.mark.parametrize("partner", connectors.partners())
def test_every_envelope_rule_dead_letters_with_its_reason_over_the_bus(
    bus: Bus, settings: Settings, partner: str
) -> None:
    kind = next(iter(connectors.load(partner).routes))
    breaches = envelope_breaches(partner, kind, settings.max_body_bytes, bus.intruder)
    hub = bus.hub()
    with running(hub) as run:
        bus.publish(hub, [m for _, m in breaches])
        assert run.worker.wait_settled(len(breaches), WAIT)
    letters = hub.transport.take(dead_letter_queue(partner), limit=100, partner=partner)
    # Messages of different dossiers travel through different partitions: compare them by id.
    reasons = {str(m.properties.message_id): (str(r), m.body) for r, m in breaches}
    found = {str(d.properties.message_id): (d.properties.headers[HEADER_REASON], d.body) for d in letters}
    assert len(letters) == len(breaches)
    assert found == reasons  # each with its reason, its body kept whole to replay
    for letter in letters:
        headers = json.dumps(letter.properties.headers, ensure_ascii=False)
        assert bus.intruder not in str(letter.properties.headers.get(HEADER_DETAIL))
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
