"""ops/prometheus/rules.yml against the hub's own metrics: every metric an alert reads is one the hub
exports, with the labels it filters on, and every alert has its section in docs/runbook.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import hub.metrics  # noqa: F401  (registers the hub's metrics)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops/prometheus/rules.yml"
RUNBOOK = ROOT / "docs/runbook.md"
SERIES = re.compile(r"\b(hub_[a-z_]+)(\{[^}]*\})?")
MATCHER = re.compile(r'([a-z_]+)\s*=~?\s*"')


def alerts() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def exported() -> dict[str, set[str]]:
    """Series name -> its label names, as the hub's registry exposes them."""
    series: dict[str, set[str]] = {}
    for metric in REGISTRY.collect():
        if not metric.name.startswith("hub_"):
            continue
        labels = set(getattr(REGISTRY._names_to_collectors.get(metric.name), "_labelnames", ()))
        for suffix in ("", "_total", "_bucket", "_count", "_sum", "_created"):
            series[metric.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


@pytest.mark.parametrize("alert", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_reads_series_and_labels_the_hub_exports(alert: dict[str, Any]) -> None:
    known = exported()
    used = SERIES.findall(alert["expr"])
    assert used, "an alert must read one of the hub's metrics"
    for name, matchers in used:
        assert name in known, f"{name} is not a series the hub exports"
        assert set(MATCHER.findall(matchers)) <= known[name], f"{name}: a label the hub does not set"


@pytest.mark.parametrize("alert", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_has_a_runbook_section(alert: dict[str, Any]) -> None:
    anchor = alert["annotations"]["runbook"].partition("#")[2]
    headings = {line[3:].strip().lower() for line in RUNBOOK.read_text(encoding="utf-8").splitlines()}
    assert anchor == alert["alert"].lower()
    assert anchor in headings
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}
