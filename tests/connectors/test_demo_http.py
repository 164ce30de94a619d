"""`hub demo --http`: the day with the portal and the post as HTTP fakes behind the delivery runner
and the tracking poller, on the embedded broker; checked on the fakes' own records and the ledger."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from connectors.demo_http import FOREIGN_ORDERS, HttpPartners
from connectors.demo_records import mismatches
from connectors.scenario import Day
from hub import cli_demo
from hub.cli import main
from hub.cli_demo import DEMO_SAMPLE_CONFIG
from hub.demo import DemoReport, run_demo
from hub.outcomes import Disposition
from hub.settings import MIB, Settings, load_settings
from hub.store.ledger import message_log

COUNT = 50  # seconds; enough for orders, a cancelled collection, re-sent results and copies
REFUSED_COUNT = 10


@dataclass(frozen=True)
class Played:
    report: DemoReport
    partners: HttpPartners
    database: Path


def demo_settings() -> Settings:
    return Settings(agencies=load_settings(DEMO_SAMPLE_CONFIG).agencies)


@pytest.fixture(scope="module")
def over_http(tmp_path_factory: pytest.TempPathFactory) -> Played:
    database = tmp_path_factory.mktemp("http") / "demo.sqlite3"
    with HttpPartners(COUNT) as partners:
        report = run_demo(demo_settings(), Day(COUNT, MIB), database, carrier=partners)
    return Played(report, partners, database)


def bodies(played: Played, partner: str, kind: str) -> list[dict[str, object]]:
    return [json.loads(d.body) for d in played.report.delivered[partner] if d.routing_key == kind]


def test_the_day_over_http_adds_up_as_the_same_day_over_amqp(over_http: Played, tmp_path: Path) -> None:
    over_amqp = run_demo(demo_settings(), Day(COUNT, MIB), tmp_path / "amqp.sqlite3")
    report = over_http.report
    assert report.accounted_for, report.problems()
    assert report.outcomes == over_amqp.outcomes
    assert report.flags == over_amqp.flags
    assert report.egress_depths == over_amqp.egress_depths


def test_the_fake_portal_applied_each_egress_message_once(over_http: Played) -> None:
    state = over_http.partners.portal.state
    synced = bodies(over_http, "portal", "DongBoHoSoMC")
    progress = bodies(over_http, "portal", "CapNhatTienDoHoSoMC")
    assert synced
    assert progress
    assert len(state.applied()) == len(synced) + len(progress)
    for dossier in synced:
        assert state.dossier(str(dossier["MaHoSo"])) is not None
    held = Counter(
        json.dumps(r, sort_keys=True)
        for code in {p["MaHoSo"] for p in progress}
        for r in state.progress(str(code))
    )
    assert held == Counter(json.dumps(p, sort_keys=True) for p in progress)


def test_the_fake_post_holds_exactly_the_orders_and_cancellations_on_egress(over_http: Played) -> None:
    post = over_http.partners.post
    created = [str(order["OrderNumber"]) for order in bodies(over_http, "postal", "order.create")]
    cancelled = {cancel["OrderNumber"] for cancel in bodies(over_http, "postal", "order.cancel")}
    assert cancelled, "the day cancels a collection"
    assert sorted(post.orders) == sorted(created)
    assert post.cancelled == cancelled


def test_the_posts_answers_reached_the_hub_through_its_tracking_feed(over_http: Played) -> None:
    post = over_http.partners.post
    foreign = {d["_id"]["$oid"] for d in post.documents if d["OrderNumber"] in FOREIGN_ORDERS}
    ours = {d["_id"]["$oid"] for d in post.documents} - foreign
    query = select(message_log.c.message_id, message_log.c.outcome).where(message_log.c.partner == "postal")
    with create_engine(f"sqlite:///{over_http.database}").connect() as connection:
        ledger = Counter((row.message_id in ours, row.outcome) for row in connection.execute(query))
    assert len(foreign) == len(FOREIGN_ORDERS)
    assert ledger[(True, Disposition.FORWARDED)] == len(ours)  # each document once, none of the foreign ones
    assert post.calls("tracking")


class RefusingPost(HttpPartners):
    """The fake post refuses the first order it is sent."""

    def __enter__(self) -> HttpPartners:
        super().__enter__()
        self.post.refuse("103", "Dữ liệu không hợp lệ")
        return self


def test_the_demo_over_http_prints_its_calls_and_fails_on_an_egress_message_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    monkeypatch.setattr(cli_demo, "HttpPartners", RefusingPost)
    arguments = [
        "demo",
        "--http",
        "--count",
        str(REFUSED_COUNT),
        "--database",
        str(tmp_path / "demo.sqlite3"),
    ]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1, result.output
    assert "calls to postal tracking" in result.output
    assert "every message accounted for: NO" in result.output
    assert "does not add up: postal: 1 egress messages refused" in result.output
    assert "does not add up: postal: 1 egress messages its fake never applied" in result.output


def test_a_change_missed_applied_unasked_or_twice_is_named() -> None:
    sent = Counter({("order", "A"): 1, ("order", "B"): 1})
    assert mismatches("postal", sent, Counter(sent)) == []
    assert mismatches("postal", sent, Counter({("order", "A"): 1})) == [
        "postal: 1 egress messages its fake never applied"
    ]
    assert mismatches("postal", sent, Counter({**sent, ("order", "C"): 1, ("order", "A"): 2})) == [
        "postal: 1 changes its fake applied that no egress message asked for",
        "postal: 1 egress messages its fake applied more than once",
    ]
