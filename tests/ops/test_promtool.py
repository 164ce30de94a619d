"""The alerting rules under Prometheus's own tools: `promtool check rules` and `check config` accept
them, `promtool test rules` passes ops/prometheus/tests.yml, and that file fires and spares every
alert at least once each."""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from tests.ops.promql import ROOT, run_promtool
from tests.ops.test_prometheus_rules import RULES, SCRAPE_CONFIG, alerts

RULE_TESTS = ROOT / "ops/prometheus/tests.yml"


def test_promtool_accepts_the_rules() -> None:
    output = run_promtool("check", "rules", RULES)
    assert f"SUCCESS: {len(alerts())} rules found" in output


def test_promtool_accepts_the_scrape_config_and_its_rule_files() -> None:
    run_promtool("check", "config", SCRAPE_CONFIG)


def test_promtool_rule_tests_pass() -> None:
    assert "SUCCESS" in run_promtool("test", "rules", RULE_TESTS)


def cases() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    return [case for test in document["tests"] for case in test.get("alert_rule_test", [])]


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not() -> None:
    firing = Counter(case["alertname"] for case in cases() if case.get("exp_alerts"))
    quiet = Counter(case["alertname"] for case in cases() if not case.get("exp_alerts"))
    names = {alert["alert"] for alert in alerts()}
    assert names, "no alert found"
    assert sorted(names - set(firing)) == [], "alerts never fired by tests.yml"
    assert sorted(names - set(quiet)) == [], "alerts never spared by tests.yml"
    assert set(firing) | set(quiet) <= names, "tests.yml tests an alert rules.yml does not have"
