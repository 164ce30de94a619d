"""The demo, as a newcomer runs it, and the fake partners it plays."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from pydantic import BaseModel

import connectors
from connectors.onestop.fake import PATHS, FakeOnestop
from connectors.onestop.models import DossierProgress, DossierReceived, ResultReady
from connectors.portal.fake import FakePortal
from connectors.postal.fake import FakePostal
from connectors.postal_codes import Service, StatusCode
from connectors.readback import DayByUnit, by_unit
from connectors.scenario import CURRENT_UNITS, LEGACY_UNITS, NEVER_FILED, Day
from connectors.synthetic import FAMILY_NAMES, MIDDLE
from hub.agencies import AgencyRegistry
from hub.cli import main
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.connector import Context
from hub.demo import DemoReport, Expected, run_demo
from hub.dossiers.status import ACCEPTED, FILED, LEGAL, RESULT_READY, RESULT_RETURNED
from hub.envelope import Delivery, Outbound
from hub.errors import Reason
from hub.event_seal import KeysInMemory
from hub.outcomes import Disposition
from hub.pipeline import Pipeline
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import MIB, Settings, load_settings
from tests.conftest import CURRENT_UNIT, LEGACY_UNIT

# Small enough for seconds; large enough for re-sends, a cancelled collection and every bad message.
COUNT = 150
PRINTED_COUNT = 60
M = TypeVar("M", bound=BaseModel)
PERSONAL = re.compile(r"\b09\d{8}\b|\b0931\d{8}\b|@example\.vn")
SUMMARY = re.compile(
    r"(\d+) published in (\d+) rounds, (\d+) forwarded \((\d+) outputs\), (\d+) deduplicated, "
    r"(\d+) dead-lettered"
)
# The reasons the day's partners give the hub (a bad signature or an unknown schema they cannot).
EVERY_REASON = {
    Reason.MALFORMED_JSON, Reason.INVALID_UTF8, Reason.TOO_LARGE, Reason.MISSING_PROPERTY,
    Reason.WRONG_INGRESS, Reason.UNKNOWN_KIND, Reason.UNSUPPORTED_CONTRACT_VERSION,
    Reason.VALIDATION_FAILED, Reason.UNKNOWN_AGENCY, Reason.UNKNOWN_DOSSIER, Reason.INVALID_TRANSITION,
    Reason.CONFLICTING_DUPLICATE,
}  # fmt: skip


@dataclass(frozen=True)
class Played:
    day: Day
    report: DemoReport
    units: DayByUnit


def sample_registry() -> AgencyRegistry:
    return AgencyRegistry(load_settings(DEMO_SAMPLE_CONFIG).agencies)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """One day of COUNT dossiers played through the hub, and read back per unit."""
    settings = Settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)
    day = Day(COUNT, MIB)
    report = run_demo(settings, day, tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    delivered = itertools.chain(*report.delivered.values())
    return Played(day, report, by_unit(delivered, itertools.chain(*report.dead.values()), sample_registry()))


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `hub demo` prints for a small day on the embedded broker."""
    database = tmp_path_factory.mktemp("cli") / "demo.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        env.delenv("HUB_BROKER_URL", raising=False)
        result = CliRunner().invoke(
            main, ["demo", "--count", str(PRINTED_COUNT), "--database", str(database)]
        )
    assert result.exit_code == 0, result.output
    assert database.exists()
    return result.output


def table_rows(output: str) -> dict[str, list[str]]:
    """The cells of the printed tables' rows, by their first cell (first row wins)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            rows.setdefault(cells[0], cells)
    return rows


def validated(model: type[M], body: dict[str, Any]) -> M:
    return model.model_validate_json(json.dumps(body))


def bodies(messages: list[Outbound], kind: str) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in messages if m.routing_key == kind]


# --- the demo, printed -------------------------------------------------------------------------------


def test_the_demo_runs_without_a_broker_and_adds_up(printed: str) -> None:
    assert "every message accounted for: yes" in printed
    found = SUMMARY.search(printed)
    assert found is not None, printed
    published, rounds, forwarded, _outputs, deduplicated, dead = map(int, found.groups())
    assert published == forwarded + deduplicated + dead
    assert deduplicated > 0
    assert rounds >= 4  # filings, the post's answers, re-sends, the post's answers to them
    dead_letters = printed.partition("Dead letters by reason")[2].partition("Flags on accepted inputs")[0]
    reasons = set()
    for line in dead_letters.splitlines():
        if line.startswith("│ hub.dead."):
            _queue, reason, letters, expected = (cell.strip() for cell in line.strip("│").split("│"))
            assert letters == expected, line
            reasons.add(reason)
    assert reasons == EVERY_REASON


def test_the_demo_shows_each_owning_unit_and_legacy_codes_reaching_their_successors(printed: str) -> None:
    assert "Per owning unit" in printed
    rows = table_rows(printed)
    filed, in_person, brought = (
        int(rows[label][-1]) for label in ("filed online", "counter, in person", "counter, brought by post")
    )
    assert filed + in_person + brought == PRINTED_COUNT
    assert (
        int(rows["counter, civil servant"][-1]) + int(rows["counter, postal staff"][-1])
        == in_person + brought
    )
    registry = sample_registry()
    routed = [
        code for code in LEGACY_UNITS if code in rows and rows[code][2] == registry.owning_unit(code, "x")
    ]
    assert routed, "no legacy code shown routed to its successor"


def test_the_demo_prints_no_personal_data(printed: str) -> None:
    assert not any(name in printed for name in FAMILY_NAMES)
    assert not any(f"{f} {m}" in printed for f, m in itertools.product(FAMILY_NAMES, MIDDLE))
    assert not PERSONAL.search(printed)


def test_metrics_carry_no_personal_data_and_bounded_labels(printed: str) -> None:
    assert printed  # the demo ran in this process, so its metrics are exposed
    exposed = generate_latest().decode()
    assert "hub_dead_letters_total" in exposed
    assert not any(name in exposed for name in FAMILY_NAMES)
    assert "MaHoSo" not in exposed
    assert "portal-" not in exposed  # no message ids as labels
    assert "onestop-" not in exposed
    labels = {
        line.split("{", 1)[1].split("}", 1)[0]
        for line in exposed.splitlines()
        if line.startswith("hub_") and "{" in line
    }
    # result: a delivery call's fixed outcome; feed: a poller's feed name (both from hub demo --http)
    allowed = {"partner", "kind", "reason", "cause", "le", "flag", "version", "result", "feed"}
    assert all(key in allowed for label in labels for key in _keys(label))
    # The demo's portal also sends a version 9, refused: only versions a connector speaks are labels.
    versions = {v for label in labels for v in re.findall(r'version="([^"]*)"', label)}
    assert "1" in versions
    assert versions <= {"1", "2"}


def _keys(labels: str) -> list[str]:
    return [pair.split("=", 1)[0] for pair in labels.split(",") if pair]


# --- the day, played ---------------------------------------------------------------------------------


def test_every_message_is_forwarded_deduplicated_or_dead_lettered_as_expected(played: Played) -> None:
    report, figures = played.report, played.day.figures
    assert report.problems() == []
    assert report.accounted_for
    assert report.published == report.settled == report.forwarded + report.duplicates + report.dead_lettered
    assert report.duplicates == figures.duplicates > 0
    assert report.dead_lettered == figures.bad
    expected_dead = {
        (p, str(r)) for (p, outcome, r) in report.expected.outcomes if outcome == Disposition.DEAD_LETTERED
    }
    assert set(report.dead_letters) == expected_dead
    assert {reason for _, reason in report.dead_letters} == EVERY_REASON


def test_a_day_of_no_messages_is_not_accounted_for() -> None:
    nothing = DemoReport(False, [], True, 0, [], Counter(), 0, {}, {}, Expected())
    assert not nothing.accounted_for
    assert any(problem.startswith("nothing was published") for problem in nothing.problems())
    result = CliRunner().invoke(main, ["demo", "--count", "0"])
    assert result.exit_code == 2  # a usage error, before anything runs
    assert "--count" in result.output


def test_the_day_ends_when_nobody_has_anything_more_to_send(played: Played) -> None:
    report = played.report
    assert report.finished
    assert all(r.settled for r in report.rounds)
    assert len(report.rounds) >= 4
    assert report.rounds[0].published["postal"] == 0  # the post only ever answers
    assert report.rounds[-1].taken["egress.postal"] == 0  # nothing new was ordered


def test_the_per_unit_figures_match_what_the_partners_did(played: Played) -> None:
    total, figures, journeys = played.units.total(), played.day.figures, played.day.journeys
    report = played.report
    assert total.filed_online == figures.filed_online
    assert (total.in_person, total.brought_by_post) == (figures.received_in_person, figures.brought_by_post)
    assert total.civil_servant + total.postal_staff == figures.received_in_person + figures.brought_by_post
    assert total.collection_requested == figures.collections_requested
    orders = [d for d in report.delivered["postal"] if d.routing_key == "order.create"]
    assert len(orders) == total.result_orders + total.collection_requested
    assert total.result_orders == figures.results_by_post + figures.resent
    assert total.resent == figures.resent == journeys["returned"] > 0
    assert total.returned_to_agency == total.delivery_failed == journeys["returned"]
    assert total.delivered == journeys["delivered"] + journeys["delivered with a late scan"]
    assert total.collected == journeys["collected"]
    assert total.collection_failed == journeys["collection failed"]
    assert total.collection_cancelled == journeys["cancelled"] > 0
    assert total.supplement_requested > 0
    assert total.returned_at_counter > 0
    assert total.withdrawn >= figures.withdrawn_online > 0
    assert total.paid_online == figures.paid_online > 0  # flow 7: each online payment reached its unit
    assert total.dead_letters == report.dead_lettered
    assert set(played.units.units) - {None} <= set(CURRENT_UNITS)


def test_the_hub_flags_what_the_post_got_wrong(played: Played) -> None:
    report = played.report
    assert report.flags == report.expected.flags
    assert report.flags[("postal", "late_tracking_event")] > 0
    assert report.flags[("postal", "unknown_status_code")] > 0


# --- the fake partners ---------------------------------------------------------------------------------


def test_the_scenario_names_only_units_of_the_sample_registry() -> None:
    registry = sample_registry()
    assert all(code in registry for code in (*LEGACY_UNITS, *CURRENT_UNITS))
    assert all(registry.owning_unit(code, "x") != code for code in LEGACY_UNITS)
    assert all(registry.owning_unit(code, "x") == code for code in CURRENT_UNITS)
    assert NEVER_FILED.partition("-")[0] in registry


def test_the_first_round_mixes_online_and_counter_filings_with_their_days() -> None:
    day = Day(300, MIB)
    messages = day.next_round({})
    figures = day.figures
    assert figures.filed_online == 180
    assert figures.received_in_person + figures.brought_by_post == 120
    assert 0 < figures.withdrawn_online < figures.filed_online
    assert 0 < figures.collections_requested < figures.filed_online
    kinds = Counter(m.routing_key for m in messages)
    assert kinds["dossier.received"] == 120 + 2  # two bad ones
    assert kinds["dossier.progress"] > 120
    assert kinds["dossier.withdrawn"] == figures.withdrawn_online
    assert kinds["payment.completed"] == figures.paid_online > 0
    assert day.expected.outcomes[("portal", "duplicate", None)] == 0
    assert (
        sum(n for (_, outcome, _), n in day.expected.outcomes.items() if outcome == Disposition.DEAD_LETTERED)
        == 13
    )


def test_every_path_of_the_fake_follows_the_legal_transitions() -> None:
    for path in PATHS:
        for source, target in itertools.pairwise((ACCEPTED, *path)):
            assert target in LEGAL[source], (path, source, target)


def test_the_fake_onestop_days_are_valid_and_in_time_order() -> None:
    onestop = FakeOnestop(seed=3)
    roles: Counter[str] = Counter()
    for index in range(300):
        (kind, received), *rest = onestop.counter_dossier(LEGACY_UNIT if index % 2 else CURRENT_UNIT)
        assert kind == "dossier.received"
        roles[validated(DossierReceived, received).VaiTroTiepNhan] += 1
        assert received["NgayTiepNhan"] < received["NgayHenTra"]
        steps = [body for kind, body in rest if kind == "dossier.progress"]
        times = [received["NgayTiepNhan"], *(validated(DossierProgress, s).ThoiDiemXuLy for s in steps)]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        statuses = [step["TrangThaiHoSo"] for step in steps]
        ready = [body for kind, body in rest if kind == "result.ready"]
        assert len(ready) == int(RESULT_READY in statuses)
        for body in ready:
            done = steps[statuses.index(RESULT_READY)]
            assert validated(ResultReady, body).NgayCoKetQua > done["ThoiDiemXuLy"]
        if RESULT_RETURNED in statuses:
            assert received["HinhThucNhanKetQua"] == 0
            assert steps[-1]["ThoiDiemXuLy"] > ready[0]["NgayCoKetQua"]
    assert 0.2 < roles["NHAN_VIEN_BUU_DIEN"] / 300 < 0.4


def test_the_fake_onestop_accepts_online_filings_after_they_were_filed() -> None:
    portal, onestop = FakePortal(seed=5), FakeOnestop(seed=6)
    for _ in range(100):
        submitted = portal.dossier_submitted(CURRENT_UNIT, by_post=True)
        (kind, accepted), *rest = onestop.online_dossier(submitted)
        assert (kind, accepted["TrangThaiHoSo"]) == ("dossier.progress", ACCEPTED)
        assert accepted["MaHoSo"] == submitted["MaHoSo"]
        assert validated(DossierProgress, accepted).ThoiDiemXuLy > submitted["NgayNopHoSo"]
        statuses = [
            FILED,
            ACCEPTED,
            *(body["TrangThaiHoSo"] for kind, body in rest if kind == "dossier.progress"),
        ]
        assert all(b in LEGAL[a] for a, b in itertools.pairwise(statuses))
        assert RESULT_RETURNED not in statuses  # the post returns results sent by post


def test_the_fake_onestop_sends_a_returned_result_again_later() -> None:
    onestop = FakeOnestop(seed=8)
    day = next(
        d for d in (onestop.counter_dossier(CURRENT_UNIT) for _ in range(200)) if d[-1][0] == "result.ready"
    )
    first = day[-1][1]
    returned = {"MaHoSo": first["MaHoSo"], "TrangThai": "RETURNED_TO_AGENCY", "ThoiDiem": "20261203090000"}
    again = onestop.result_ready_again(returned)
    assert {**again, "NgayCoKetQua": None} == {**first, "NgayCoKetQua": None}
    assert validated(ResultReady, again).NgayCoKetQua > returned["ThoiDiem"]


def test_each_bad_message_of_the_fake_onestop_and_post_gets_its_reason(settings: Settings) -> None:
    chosen = {p: connectors.load(p) for p in connectors.partners()}
    pipeline = Pipeline(
        chosen,
        settings,
        Context(AgencyRegistry(settings.agencies)),
        Registry.load(CATALOGUE),
        keys=KeysInMemory(),
    )
    bad = [
        *(("onestop", reason, m) for reason, m in FakeOnestop().bad_messages(LEGACY_UNIT)),
        *(("postal", reason, m) for reason, m in FakePostal().bad_messages(f"{LEGACY_UNIT}-261130-0000")),
    ]
    for partner, expected, message in bad:
        delivery = Delivery(partner, message.exchange, message.routing_key, message.body, message.properties)
        assert pipeline.process(delivery).record.reason == expected


def test_the_fake_post_cancels_what_came_with_its_cancellation_and_delivers_re_sends() -> None:
    postal = FakePostal(seed=4, failure_share=1.0, unpublished_code_share=0.0)
    collect = {
        "OrderNumber": f"{CURRENT_UNIT}-261130-0001/TG",
        "Service": Service.BCCI_THU_GOM,
        "CODAmount": 0,
    }
    resend = {
        "OrderNumber": f"{CURRENT_UNIT}-261130-0002/KQ/2",
        "Service": Service.BCCI_TRA_KQ,
        "CODAmount": 8000,
    }
    cancel = {"OrderNumber": collect["OrderNumber"], "LyDo": "Công dân rút hồ sơ"}
    events = postal.answer([collect, resend], [cancel], after=datetime(2026, 12, 1, 8, 0))
    codes = {
        number: [
            body["StatusCode"] for body in bodies(events, "shipment.status") if body["OrderNumber"] == number
        ]
        for number in (collect["OrderNumber"], resend["OrderNumber"])
    }
    assert codes[str(collect["OrderNumber"])][-1] == StatusCode.COLLECTION_CANCELLED
    assert StatusCode.DELIVERED in codes[str(resend["OrderNumber"])]
    assert sum(postal.journeys.values()) == 2
    assert postal.journeys["cancelled"] == 1
