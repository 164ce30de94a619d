"""What the rules and the dashboard may read, and the tools that check them: promtool (Prometheus's
own parser and rule tester) and promql-parser (which series and labels an expression reads)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import promql_parser
import pytest
from prometheus_client import REGISTRY

# Imported to register the metrics: the workers' and `hub deliver`'s, and `hub poll`'s; the gateway's
# are in a registry of its own.
import hub.metrics
import hub.polling.metrics  # noqa: F401
from hub.gateway.metrics import GatewayMetrics

ROOT = Path(__file__).resolve().parents[2]
RABBITMQ_METRICS = Path(__file__).with_name("rabbitmq_metrics.json")
SCRAPE_LABELS = {"job", "instance"}  # Prometheus adds them to every series it scrapes
PROMETHEUS_OWN: dict[str, set[str]] = {"up": set()}  # a series Prometheus writes for every target


def promtool() -> str:
    """promtool's path. Missing: the test skips locally and fails under CI=true (scripts/services
    installs Debian's prometheus package, which ships it)."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required under CI=true (Debian package prometheus)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    return found


def run_promtool(*arguments: str | Path) -> str:
    """Run promtool; fails the test with promtool's own output unless it exits 0."""
    done = subprocess.run(
        [promtool(), *map(str, arguments)], capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(map(str, arguments))}:\n{output}"
    return output


class RabbitMQMetrics(TypedDict):
    about: str
    path: str  # the plugin's endpoint the job rabbitmq scrapes
    params: dict[str, list[str]]  # its query parameters
    metrics: dict[str, list[str]]  # series read -> its labels


def rabbitmq_fixture() -> RabbitMQMetrics:
    fixture: RabbitMQMetrics = json.loads(RABBITMQ_METRICS.read_text(encoding="utf-8"))
    return fixture


def rabbitmq_series() -> dict[str, set[str]]:
    """The RabbitMQ series the rules and dashboard may read (checked against the live plugin)."""
    return {name: set(labels) for name, labels in rabbitmq_fixture()["metrics"].items()}


def hub_series() -> dict[str, set[str]]:
    """Series name -> its label names, as the hub's registries expose them: the process-wide one and
    the gateway's own (``hub gateway serve``)."""
    series: dict[str, set[str]] = {}
    for registry in (REGISTRY, GatewayMetrics().registry):
        for metric in registry.collect():
            if not metric.name.startswith("hub_"):
                continue
            labels = set(getattr(registry._names_to_collectors.get(metric.name), "_labelnames", ()))
            for suffix in ("", "_total", "_bucket", "_count", "_sum", "_created"):
                series[metric.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def exported() -> dict[str, set[str]]:
    """Every series an expression may read, with its labels (scrape labels included)."""
    known = {**hub_series(), **rabbitmq_series(), **PROMETHEUS_OWN}
    return {name: labels | SCRAPE_LABELS for name, labels in known.items()}


@dataclass(frozen=True)
class Reads:
    selectors: list[tuple[str, set[str]]]  # series name, label names its matchers filter on
    groupings: list[tuple[set[str], set[str]]]  # by (labels), the series aggregated
    values: dict[str, set[str]]  # label name -> the values matchers compare it with


def reads(expression: str) -> Reads:
    """The series and labels ``expression`` reads, from its syntax tree."""
    selectors: list[tuple[str, set[str]]] = []
    groupings: list[tuple[set[str], set[str]]] = []
    values: dict[str, set[str]] = {}

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            assert node.name, f"a selector without a metric name in {expression!r}"
            selectors.append((node.name, {m.name for m in node.matchers.matchers}))
            for matcher in node.matchers.matchers:
                values.setdefault(matcher.name, set()).add(matcher.value)
        elif isinstance(node, promql_parser.AggregateExpr) and _grouped_by(node.modifier):
            assert node.modifier is not None
            groupings.append((set(node.modifier.labels), _names_under(node.expr)))

    promql_parser.walk(promql_parser.parse(expression), pre_visit=visit)
    return Reads(selectors, groupings, values)


def _grouped_by(modifier: promql_parser.AggModifier | None) -> bool:
    return modifier is not None and modifier.type == promql_parser.AggModifierType.By


def _names_under(expression: promql_parser.Expr) -> set[str]:
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(expression, pre_visit=visit)
    return names


def unknown_reads(expression: str) -> list[str]:
    """What ``expression`` reads that neither the hub nor RabbitMQ exports (empty: all known)."""
    known = exported()
    found = reads(expression)
    problems = []
    for name, labels in found.selectors:
        if name not in known:
            problems.append(f"{name} is not a series the hub or RabbitMQ exports")
        elif labels - known[name]:
            problems.append(f"{name} has no label {sorted(labels - known[name])}")
    for by, names in found.groupings:
        available = set().union(*(known.get(name, set()) for name in names))
        if by - available:
            problems.append(f"by {sorted(by - available)}: no such label on {sorted(names)}")
    if not found.selectors:
        problems.append("reads no series")
    return problems
