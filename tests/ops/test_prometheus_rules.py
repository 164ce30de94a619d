"""ops/prometheus/rules.yml against what is exported: every series and label an alert reads is one
the hub or RabbitMQ's prometheus plugin exports (tests/ops/rabbitmq_metrics.json, checked against
the live plugin), and every alert has its section in docs/runbook.md. promtool checks the syntax and
the behaviour (tests/ops/test_promtool.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.promql import ROOT, reads, unknown_reads

RULES = ROOT / "ops/prometheus/rules.yml"
RUNBOOK = ROOT / "docs/runbook.md"
SCRAPE_CONFIG = ROOT / "ops/prometheus/prometheus.yml"


def alerts() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    found = [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]
    assert found, f"no alert in {RULES}"
    return found


def runbook_headings(path: Path = RUNBOOK) -> set[str]:
    return {line[3:].strip().lower() for line in path.read_text(encoding="utf-8").splitlines()}


@pytest.mark.parametrize("alert", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_reads_series_and_labels_the_hub_or_rabbitmq_exports(alert: dict[str, Any]) -> None:
    assert unknown_reads(alert["expr"]) == []


@pytest.mark.parametrize("alert", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_runbook_section(alert: dict[str, Any]) -> None:
    anchor = alert["annotations"]["runbook"].partition("#")[2]
    assert anchor == alert["alert"].lower()
    assert anchor in runbook_headings()
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}


def test_the_jobs_the_alerts_name_are_scraped() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load(SCRAPE_CONFIG.read_text())["scrape_configs"]}
    matched = set().union(*(reads(alert["expr"]).values.get("job", set()) for alert in alerts()))
    named = {job for value in matched for job in value.split("|")}  # job=~"a|b" names a and b
    assert named, "an alert reads a target's scrape status (up{job=...})"
    assert named <= jobs


def test_an_unknown_series_or_label_is_named() -> None:
    # The check itself: what a typo in a rule would look like.
    problems = unknown_reads('sum by (partnr) (rate(hub_messages_forwarded_total{kid="x"}[5m])) > hub_nope')
    assert problems == [
        "hub_messages_forwarded_total has no label ['kid']",
        "hub_nope is not a series the hub or RabbitMQ exports",
        "by ['partnr']: no such label on ['hub_messages_forwarded_total']",
    ]
