"""ops/grafana: every panel's query parses as Prometheus parses it (promtool, the queries written as
recording rules) and reads only series and labels the hub or RabbitMQ exports; the panels the
issue asks for are there, on the provisioned datasource."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.promql import ROOT, exported, reads, run_promtool, unknown_reads

GRAFANA = ROOT / "ops/grafana"
DASHBOARD = GRAFANA / "dashboards/hub.json"
# Grafana's own variables, given a value Prometheus accepts where Grafana would put one.
GRAFANA_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "6h"}
VARIABLE = re.compile(r"\$\{?(\w+)\}?")
LABEL_VALUES = re.compile(r"label_values\((\w+),\s*(\w+)\)")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but rows, rows' own panels included (those of a collapsed row)."""
    found: list[dict[str, Any]] = []
    for panel in document["panels"]:
        nested = panel.get("panels", []) if panel["type"] == "row" else [panel]
        found.extend(nested)
    return found


def queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule name, PromQL) for every panel target, Grafana's variables replaced by values."""
    variables = {variable["name"] for variable in document["templating"]["list"]}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in GRAFANA_VARIABLES:
            return GRAFANA_VARIABLES[name]
        assert name in variables, f"${name} is not a variable of the dashboard"
        return ".+"  # a dashboard variable stands in label matchers' regexes

    found = []
    for panel in panels(document):
        for target in panel["targets"]:
            found.append((f"panel_{panel['id']}_{target['refId']}", VARIABLE.sub(value, target["expr"])))
    return found


def test_the_dashboard_has_panels_each_with_a_query() -> None:
    found = panels(dashboard())
    assert len(found) >= 10, "no panels found"
    for panel in found:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_every_query_parses_with_promtool(tmp_path: Path) -> None:
    found = queries(dashboard())
    assert found, "no query found"
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": n, "expr": e} for n, e in found]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert f"SUCCESS: {len(found)} rules found" in run_promtool("check", "rules", path)


@pytest.mark.parametrize("query", queries(dashboard()), ids=lambda query: query[0])
def test_every_query_reads_series_and_labels_the_hub_or_rabbitmq_exports(query: tuple[str, str]) -> None:
    assert unknown_reads(query[1]) == []


def test_the_variables_read_series_and_labels_that_exist() -> None:
    known = exported()
    variables = dashboard()["templating"]["list"]
    for variable in variables:
        match = LABEL_VALUES.fullmatch(variable["query"]["query"])
        assert match, variable["query"]
        series, label = match.groups()
        assert label in known.get(series, set()), variable["query"]


def test_the_panels_the_issue_asks_for_are_there() -> None:
    read = {name for _, query in queries(dashboard()) for name, _ in reads(query).selectors}
    asked = {
        "hub_messages_forwarded_total",  # throughput by partner and kind
        "hub_duplicates_total",  # outcomes
        "hub_dead_letters_total",  # outcomes, and by reason
        "hub_parked_total",
        "hub_processing_seconds_bucket",  # latency
        "hub_in_flight_messages",
        "hub_parked_messages",
        "hub_paused",
        "hub_retries_total",
        "hub_ready",
        "rabbitmq_detailed_queue_messages",  # queue depths
        "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_consumers",
        "hub_delivery_calls_total",  # hub deliver: calls by result, their duration, the breaker
        "hub_delivery_call_seconds_bucket",
        "hub_delivery_breaker_state",
        "hub_delivery_retries_total",
        "hub_delivery_dead_letters_total",
        "hub_delivery_held_messages",
        "hub_poll_documents_published_total",  # hub poll: documents, pages, failures, staleness
        "hub_poll_documents_skipped_total",
        "hub_poll_pages_total",
        "hub_poll_errors_total",
        "hub_poll_last_success_timestamp_seconds",
        "hub_poll_cursor_saved_timestamp_seconds",
        "hub_gateway_requests_total",  # hub gateway: answers by status class, their time, messages
        "hub_gateway_request_seconds_bucket",
        "hub_gateway_published_total",
        "hub_gateway_conflicts_total",
        "hub_gateway_leases",
    }
    assert sorted(asked - read) == []


def test_every_panel_uses_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    assert source["name"] == "Prometheus"
    expected = {"type": "prometheus", "uid": source["uid"]}
    for panel in panels(dashboard()):
        assert panel["datasource"] == expected, panel["title"]
        assert all(target["datasource"] == expected for target in panel["targets"]), panel["title"]


def test_the_dashboards_are_provisioned_in_their_folder() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/dashboards/hub.yml").read_text())
    (provider,) = provisioned["providers"]
    assert provider["folder"] == "Dossier hub"
    assert provider["type"] == "file"
    assert dashboard()["uid"] == "dossier-hub"
