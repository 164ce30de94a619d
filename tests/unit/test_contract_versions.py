"""Contract versions side by side (hub.versions): the setting that accepts them per partner, the
portal's dossier.submitted in version 2 and its translation, the metric per version, the retirement
warning, and the generated documents."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

import connectors
from connectors.portal.connector import CONNECTOR as PORTAL
from connectors.portal.fake import FakePortal
from hub import app, config_check, versions
from hub.bus.ingress import ingress_message
from hub.connector import Connector, ContractVersion, Route
from hub.docs import render
from hub.errors import ConfigError
from hub.observe import WorkerMetrics
from hub.outcomes import Outcome
from hub.settings import Settings
from tests.clock import FakeClock
from tests.connectors.harness import REGISTRY as SCHEMAS
from tests.connectors.harness import InMemoryHub, egress, sample

KIND = "dossier.submitted"
V1_RETIRES = date(2027, 6, 30)
BOTH = {"portal": ["1", "2"]}


def both(settings: Settings) -> Settings:
    return settings.model_copy(update={"contract_versions": BOTH})


def v1() -> dict[str, Any]:
    return sample(f"portal.{KIND}")


def v2(**changes: Any) -> dict[str, Any]:
    return {**sample(f"portal.{KIND}.v2"), **changes}


DOCUMENTS = v2()["DanhSachGiayTo"]


def refusal(outcome: Outcome) -> tuple[str | None, str | None]:
    return outcome.record.reason, outcome.record.detail


def submitted_event(outcome: Outcome) -> dict[str, Any]:
    [event] = [o.payload for o in outcome.outputs if o.properties.type == KIND and o.payload is not None]
    return {key: value for key, value in event.items() if key != "header"}


# --- acceptance -------------------------------------------------------------------------------------


def test_both_versions_are_accepted_side_by_side_when_the_setting_lists_them(settings: Settings) -> None:
    hub = InMemoryHub(both(settings))
    first = hub.send("portal", KIND, v1(), version="1")
    second = hub.send("portal", KIND, v2(MaHoSo="000.00.30.H30-261129-0003"), version="2")
    assert [first.record.outcome, second.record.outcome] == ["forwarded", "forwarded"]
    assert [first.contract_version, second.contract_version] == ["1", "2"]


def test_version_2_is_refused_by_default_and_the_detail_names_the_accepted_versions(
    settings: Settings,
) -> None:
    outcome = InMemoryHub(settings).send("portal", KIND, v2(), version="2")
    assert refusal(outcome) == (
        "unsupported_contract_version",
        "headers.x-contract-version: not a version accepted on ingress.portal (accepted: 1)",
    )
    assert outcome.contract_version is None


def test_a_partner_moved_to_version_2_only_has_version_1_refused(settings: Settings) -> None:
    hub = InMemoryHub(settings.model_copy(update={"contract_versions": {"portal": ["2"]}}))
    assert refusal(hub.send("portal", KIND, v1(), version="1")) == (
        "unsupported_contract_version",
        "headers.x-contract-version: not a version accepted on ingress.portal (accepted: 2)",
    )
    assert hub.send("portal", KIND, v2(), version="2").record.outcome == "forwarded"


def test_the_kinds_version_2_did_not_change_are_accepted_in_it_with_their_first_model(
    settings: Settings,
) -> None:
    hub = InMemoryHub(both(settings))
    hub.send("portal", KIND, v2(), version="2")
    withdrawn = hub.send("portal", "dossier.withdrawn", sample("portal.dossier.withdrawn"), version="2")
    assert withdrawn.record.outcome == "forwarded", withdrawn.record.detail


def test_another_partner_keeps_its_default_when_the_portal_moves(settings: Settings) -> None:
    hub = InMemoryHub(both(settings))
    outcome = hub.send("onestop", "dossier.received", sample("onestop.dossier.received"), version="2")
    assert refusal(outcome)[0] == "unsupported_contract_version"


# --- version 2's body ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        (
            {"DanhSachGiayTo": [DOCUMENTS[0], {**DOCUMENTS[1], "SoGiayTo": "12345678"}]},
            "$.DanhSachGiayTo[1].SoGiayTo: value_error (Value error, must be a capital letter and 7 digits "
            "for LoaiGiayTo 3)",
        ),
        (
            {"DanhSachGiayTo": [{**DOCUMENTS[0], "NgayCap": "20250230"}]},
            "$.DanhSachGiayTo[0].NgayCap: value_error (Value error, must be a real date yyyyMMdd)",
        ),
        (
            {"DanhSachGiayTo": [{**DOCUMENTS[0], "LoaiGiayTo": 5}]},
            "$.DanhSachGiayTo[0].LoaiGiayTo: literal_error (Input should be 1, 2, 3 or 4)",
        ),
        ({"KenhNop": "FAX"}, "$.KenhNop: literal_error (Input should be 'WEB', 'MOBILE' or 'VNEID')"),
        ({"DaXacThucCSDLQGDC": "yes"}, "$.DaXacThucCSDLQGDC: bool_type (Input should be a valid boolean)"),
        (
            {"SoDinhDanhChuHoSo": "09318700"},
            "$.SoDinhDanhChuHoSo: string_pattern_mismatch (String should match pattern '^\\d{12}$')",
        ),
    ],
    ids=["number-for-kind", "issue-date", "document-kind", "channel", "flag", "renamed-field"],
)
def test_version_2_fields_are_refused_with_their_precise_paths(
    settings: Settings, changes: dict[str, Any], detail: str
) -> None:
    outcome = InMemoryHub(both(settings)).send("portal", KIND, v2(**changes), version="2")
    assert refusal(outcome) == ("validation_failed", detail)
    assert "09318700" not in json.dumps(outcome.outputs[0].properties.headers)


def test_the_renamed_field_is_accepted_only_under_the_name_of_the_version_sent(settings: Settings) -> None:
    hub = InMemoryHub(both(settings))
    old_name = v2()
    old_name["SoGiayToChuHoSo"] = old_name.pop("SoDinhDanhChuHoSo")
    assert refusal(hub.send("portal", KIND, old_name, version="2")) == (
        "validation_failed",
        "$.SoDinhDanhChuHoSo: missing (Field required); "
        "$.SoGiayToChuHoSo: extra_forbidden (Extra inputs are not permitted)",
    )
    assert refusal(hub.send("portal", KIND, v2(), version="1"))[0] == "validation_failed"  # v2's body as v1


def test_version_2_becomes_the_same_canonical_record_and_egress_as_the_equivalent_version_1(
    settings: Settings,
) -> None:
    first = InMemoryHub(both(settings)).send("portal", KIND, v1(), version="1")
    second = InMemoryHub(both(settings)).send("portal", KIND, v2(), version="2")
    assert submitted_event(first) == submitted_event(second)
    assert submitted_event(second)["applicant"]["id_number"] == v2()["SoDinhDanhChuHoSo"]
    assert egress(first, "onestop", KIND) == egress(second, "onestop", KIND) == [v1()]


def test_version_2_personal_data_is_sealed_in_the_audit_log(settings: Settings) -> None:
    outcome = InMemoryHub(both(settings)).send("portal", KIND, v2(), version="2")
    entry = app.audit_entries(SCHEMAS).of(outcome)[0]
    assert entry.clear is not None
    numbers = [d["SoGiayTo"] for d in v2()["DanhSachGiayTo"]]
    assert not any(n in entry.clear for n in [*numbers, v2()["SoDinhDanhChuHoSo"], "20250115"])
    assert entry.personal["DanhSachGiayTo[1].SoGiayTo"] == "C1234567"
    assert entry.personal["DanhSachGiayTo[0].NgayCap"] == "20250115"
    assert entry.citizen_id == v2()["SoDinhDanhChuHoSo"]  # found by `hub audit search --citizen-id`


# --- the metric ---------------------------------------------------------------------------------------


def _count(version: str) -> float:
    labels = {"partner": "portal", "kind": KIND, "version": version}
    return REGISTRY.get_sample_value("hub_messages_by_version_total", labels) or 0.0


def test_the_metric_counts_forwarded_messages_per_version_and_never_a_refused_one(
    settings: Settings,
) -> None:
    before = {v: _count(v) for v in ("1", "2", "3")}
    accepting = InMemoryHub(both(settings))
    default = InMemoryHub(settings)
    outcomes = [
        accepting.send("portal", KIND, v1(), version="1"),
        accepting.send("portal", KIND, v2(MaHoSo="000.00.30.H30-261129-0005"), version="2"),
        accepting.send("portal", KIND, v2(MaHoSo="000.00.30.H30-261129-0006"), version="2"),
        accepting.send("portal", KIND, v2(KenhNop="FAX"), version="2"),  # refused: validation
        default.send("portal", KIND, v2(), version="2"),  # refused: version
        default.send("portal", KIND, v2(), version="3"),  # refused: no such version
    ]
    WorkerMetrics().settled([(o, 0.0) for o in outcomes])
    after = {v: _count(v) for v in ("1", "2", "3")}
    assert {v: after[v] - before[v] for v in after} == {"1": 1, "2": 2, "3": 0}


# --- retirement ---------------------------------------------------------------------------------------


def retirement_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "hub.versions"]


def test_the_retirement_warning_is_logged_at_most_once_per_partner_and_version_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    warnings = versions.RetirementWarnings({"portal": PORTAL}, every=600, clock=clock)
    today = date(2026, 11, 30)
    with caplog.at_level(logging.WARNING, "hub.versions"):
        for _ in range(5):
            warnings.used("portal", KIND, "1", today)
        warnings.used("portal", KIND, "2", today)  # no retirement date: never warned about
        clock.now += 599
        warnings.used("portal", "payment.completed", "1", today)
        clock.now += 1
        warnings.used("portal", "dossier.withdrawn", "1", today)
    assert retirement_lines(caplog) == [
        (
            logging.WARNING,
            "contract version 1 of portal is retiring on 2027-06-30 and still used (dossier.submitted; "
            "0 more messages since the last report): the partner should move to a later version",
        ),
        (
            logging.WARNING,
            "contract version 1 of portal is retiring on 2027-06-30 and still used (dossier.withdrawn; "
            "5 more messages since the last report): the partner should move to a later version",
        ),
    ]


def test_after_its_date_a_retired_version_is_still_accepted_and_logged_as_an_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    hub = InMemoryHub(both(settings))
    hub._pipeline._clock = lambda: datetime(2027, 7, 1, tzinfo=UTC)  # the day after V1_RETIRES
    with caplog.at_level(logging.WARNING, "hub.versions"):
        outcome = hub.send("portal", KIND, v1(), version="1")
        hub.send("portal", KIND, v2(MaHoSo="000.00.30.H30-261129-0007"), version="2")
    assert outcome.record.outcome == "forwarded"
    assert retirement_lines(caplog) == [
        (
            logging.ERROR,
            f"contract version 1 of portal retired on {V1_RETIRES} and is still used (dossier.submitted; 0 "
            "more messages since the last report): accepted only because contract_versions still lists it",
        )
    ]
    assert v1()["SoGiayToChuHoSo"] not in caplog.text


def test_the_table_of_warnings_holds_only_versions_with_a_date() -> None:
    warnings = versions.RetirementWarnings({"portal": PORTAL}, every=600, clock=FakeClock())
    for kind in ("a", "b", "c"):
        warnings.used("portal", kind, "2", date(2026, 1, 1))
    warnings.used("portal", KIND, "1", date(2026, 1, 1))
    assert list(warnings._seen) == [("portal", "1")]


# --- configuration ------------------------------------------------------------------------------------


EVERYONE = {partner: connectors.load(partner) for partner in connectors.partners()}


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        (
            {"portal": ["1", "3"]},
            "contract_versions.portal: version '3' is not one the portal connector speaks (1, 2)",
        ),
        (
            {"onestop": ["2"]},
            "contract_versions.onestop: version '2' is not one the onestop connector speaks (1)",
        ),
        ({"portal": []}, "contract_versions.portal: list at least one version (spoken: 1, 2)"),
        ({"portl": ["1"]}, "contract_versions.portl: no such partner (known: portal, onestop, postal)"),
    ],
    ids=["unknown-version", "other-partner", "empty", "unknown-partner"],
)
def test_a_version_no_connector_speaks_is_a_configuration_error_naming_the_setting(
    setting: dict[str, list[str]], error: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        versions.check_setting(setting, EVERYONE)
    assert str(raised.value) == error


def test_the_hub_refuses_to_start_with_a_version_its_connector_does_not_speak(settings: Settings) -> None:
    wrong = settings.model_copy(update={"contract_versions": {"portal": ["1", "3"]}})
    with pytest.raises(ConfigError, match=r"^contract_versions\.portal: version '3'"):
        app.build(wrong)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CONTRACT_VERSIONS", '{"portal": ["1", "2"]}')
    assert Settings().contract_versions == BOTH
    assert Settings.model_fields["contract_versions"].default_factory() == {}  # type: ignore[misc,call-arg]


def test_a_connector_with_a_revision_of_an_undeclared_version_is_refused() -> None:
    route: Route[Any] = PORTAL.routes[KIND]
    broken = Connector("portal", {KIND: route}, versions=(ContractVersion("1"),))
    with pytest.raises(ConfigError, match=r"dossier\.submitted has a model for version '2'"):
        versions.check_connector(broken)


def test_a_kind_uses_the_latest_model_not_later_than_the_version() -> None:
    route = PORTAL.routes[KIND]
    assert [route.model_for(v).__name__ for v in ("1", "2", "10")] == [
        "DossierSubmitted",
        "DossierSubmittedV2",
        "DossierSubmittedV2",
    ]


# --- generated documents ------------------------------------------------------------------------------


def test_the_asyncapi_document_lists_both_versions_with_their_header() -> None:
    document = json.loads(render()["asyncapi.json"])
    messages = document["channels"]["ingress.portal"]["messages"]
    header = {key: m["headers"]["properties"]["x-contract-version"] for key, m in messages.items()}
    assert header[KIND]["const"] == "1"
    assert header[f"{KIND}.v2"]["const"] == "2"
    assert header["dossier.withdrawn"]["enum"] == ["1", "2"]
    schemas = document["components"]["schemas"]
    renamed = schemas["DossierSubmittedV2"]["properties"]["SoDinhDanhChuHoSo"]
    assert (renamed["x-personal-data"], renamed["x-renamed-from"]) == (True, "SoGiayToChuHoSo")
    assert "SoGiayToChuHoSo" not in schemas["DossierSubmittedV2"]["properties"]
    refs = [m["$ref"] for m in document["operations"]["portal.publish"]["messages"]]
    assert f"#/channels/ingress.portal/messages/{KIND}.v2" in refs
    onestop = document["channels"]["ingress.onestop"]["messages"]
    assert {m["headers"]["properties"]["x-contract-version"]["const"] for m in onestop.values()} == {"1"}


def test_the_partners_page_gives_the_retirement_date_and_how_to_migrate() -> None:
    page = render()["partners.md"]
    section = page.split("## Contract versions", 1)[1].split("\n## ", 1)[0]
    assert "| `portal` | `1` | the first version | 2027-06-30 |" in section
    assert "| `portal` | `2` | `dossier.submitted` |  |" in section
    assert "hub_messages_by_version_total" in section
    assert "#### `dossier.submitted` (contract version 2)" in page


def test_the_v2_sample_is_the_v1_sample_renamed_and_extended() -> None:
    first, second = v1(), v2()
    assert second.pop("SoDinhDanhChuHoSo") == first.pop("SoGiayToChuHoSo")
    new = {"KenhNop", "DanhSachGiayTo", "DaXacThucCSDLQGDC", "DinhDanhDienTuMuc2"}
    assert {k: v for k, v in second.items() if k not in new} == first


def test_hub_config_check_names_the_accepted_versions_and_fails_on_an_unknown_one(
    settings: Settings,
) -> None:
    def line(chosen: Settings) -> str:
        findings = config_check.check(chosen, connectors.partners(), {}, connect=False, speakers=EVERYONE)
        return next(f.line() for f in findings if f.part == "HUB_CONTRACT_VERSIONS")

    assert line(both(settings)) == "ok   HUB_CONTRACT_VERSIONS: accepted: portal 1+2, onestop 1, postal 1"
    wrong = settings.model_copy(update={"contract_versions": {"postal": ["2"]}})
    assert line(wrong) == (
        "FAIL HUB_CONTRACT_VERSIONS: contract_versions.postal: version '2' is not one the postal "
        "connector speaks (1)"
    )


def test_the_fake_portal_files_in_version_2_what_it_files_in_version_1(settings: Settings) -> None:
    fake = FakePortal(seed=3)
    first = fake.dossier_submitted("000.00.30.H30", by_post=True)
    second = fake.in_version_2(first)
    one = InMemoryHub(both(settings)).send("portal", KIND, first, version="1")
    two = InMemoryHub(both(settings)).send("portal", KIND, second, version="2")
    assert two.record.outcome == "forwarded", two.record.detail
    assert submitted_event(one) == submitted_event(two)


def test_a_canonical_body_sent_in_version_2_is_read_as_its_record_whatever_the_version(
    settings: Settings,
) -> None:
    first = InMemoryHub(both(settings)).send("portal", KIND, v1(), version="1")
    [event] = [o for o in first.outputs if o.properties.type == KIND and o.payload is not None]
    headers = {**event.properties.headers, "x-contract-version": "2"}
    # The partner's own canonical body: its values in clear (the hub's event seals them; payload has them).
    body, _ = SCHEMAS.encode(str(headers["x-hub-schema"]), event.payload)
    avro = ingress_message("portal", KIND, body, message_id="c-1", user_id="guest", timestamp=1)
    avro = replace(
        avro,
        properties=replace(avro.properties, content_type=event.properties.content_type, headers=headers),
    )
    outcome = InMemoryHub(both(settings)).deliver(avro)
    assert outcome.record.outcome == "forwarded", outcome.record.detail
    assert outcome.contract_version == "2"
    assert submitted_event(outcome) == submitted_event(first)
