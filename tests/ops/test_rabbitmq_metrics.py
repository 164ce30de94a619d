"""tests/ops/rabbitmq_metrics.json against the live RabbitMQ prometheus plugin: every series the
rules and the dashboard read is there, per queue of the hub's topology, with the labels and the
meaning they assume; and ops/prometheus/prometheus.yml scrapes it the way the fixture says."""

from __future__ import annotations

import os
import urllib.request
from urllib.parse import urlencode

import pika
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hub import app
from hub.bus.topology import egress_exchange, egress_queue
from hub.bus.transport import Transport
from tests import rabbit
from tests.ops.promql import rabbitmq_fixture, rabbitmq_series
from tests.ops.test_prometheus_rules import SCRAPE_CONFIG
from tests.waiting import eventually

PLUGIN_PORT = 15692
Figures = dict[str, dict[str, float]]  # series -> queue -> value


def test_the_scrape_config_reads_rabbitmq_as_the_fixture_says() -> None:
    jobs = {job["job_name"]: job for job in yaml.safe_load(SCRAPE_CONFIG.read_text())["scrape_configs"]}
    fixture = rabbitmq_fixture()
    assert jobs["rabbitmq"]["metrics_path"] == fixture["path"]
    assert jobs["rabbitmq"]["params"] == fixture["params"]
    assert all(
        target.endswith(f":{PLUGIN_PORT}") for target in jobs["rabbitmq"]["static_configs"][0]["targets"]
    )


@pytest.fixture
def vhost(broker_url: str) -> str:
    """The test's vhost with the hub's whole topology declared, once the plugin answers."""
    if not rabbit.reachable(PLUGIN_PORT):
        if os.environ.get("CI") == "true":
            pytest.fail(f"RabbitMQ's prometheus plugin does not answer on {PLUGIN_PORT} under CI=true")
        pytest.skip(f"RabbitMQ's prometheus plugin does not answer on {PLUGIN_PORT}")
    Transport(broker_url).apply_topology(app.topology())
    return rabbit.vhost_of(broker_url)


def scrape(vhost: str) -> tuple[Figures, dict[str, set[str]]]:
    """The plugin's figures for ``vhost`` as the scrape config reads them, and each series' labels."""
    fixture = rabbitmq_fixture()
    query = urlencode({**fixture["params"], "vhost": [vhost]}, doseq=True)
    url = f"http://{rabbit.HOST}:{PLUGIN_PORT}{fixture['path']}?{query}"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    figures: Figures = {}
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            figures.setdefault(sample.name, {})[sample.labels.get("queue", "")] = sample.value
            labels.setdefault(sample.name, set()).update(sample.labels)
    return figures, labels


def test_the_plugin_exports_each_series_per_queue_with_the_fixtures_labels(vhost: str) -> None:
    queues = {queue.name for queue in app.topology().queues} - {"hub.events.log"}

    def every_queue_counted(scraped: tuple[Figures, dict[str, set[str]]]) -> bool:
        return queues <= set(scraped[0].get("rabbitmq_detailed_queue_messages", {}))

    # A new queue is in the plugin's figures after one statistics interval.
    waited = eventually(lambda: scrape(vhost), every_queue_counted, 6 * rabbit.STATS_INTERVAL, "queues")
    figures, labels = waited
    for name, expected in rabbitmq_series().items():
        assert name in figures, f"the plugin does not export {name}"
        assert labels[name] == expected, name
        assert set(figures[name]) >= queues, f"{name}: queues missing"


def test_the_figures_mean_what_the_alerts_assume(vhost: str, broker_url: str) -> None:
    partner = "portal"
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # mandatory and confirmed: each of the 3 is in the queue
        for _ in range(3):
            channel.basic_publish(egress_exchange(partner), "dossier.received", b"x", mandatory=True)
        channel.basic_qos(prefetch_count=1)
        channel.basic_consume(egress_queue(partner), lambda *_: None)  # never acknowledges
        expected = {
            "rabbitmq_detailed_queue_messages": 3,
            "rabbitmq_detailed_queue_messages_ready": 2,
            "rabbitmq_detailed_queue_messages_unacked": 1,
            "rabbitmq_detailed_queue_consumers": 1,
        }
        assert set(expected) == set(rabbitmq_series())

        def egress() -> dict[str, float]:
            connection.process_data_events(0)
            figures, _ = scrape(vhost)
            return {name: figures.get(name, {}).get(egress_queue(partner), -1) for name in expected}

        # The plugin's figures are up to one statistics interval old.
        eventually(egress, lambda seen: seen == expected, 6 * rabbit.STATS_INTERVAL, "egress figures")
    finally:
        connection.close()
