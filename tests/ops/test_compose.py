"""ops/compose/compose.yaml agrees with the hub: every command exists in the CLI, every HUB_* variable
is a setting with a lawful value, the ports agree with the settings, RabbitMQ's configuration and
Prometheus's targets, and every file it mounts is in the repository (no drift)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy
from hub.settings.gateway import GatewaySettings
from tests.ops.hub_commands import command_path, subcommands

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "ops/compose"
COMPOSE = FOLDER / "compose.yaml"
DOCKERFILE = ROOT / "ops/docker/Dockerfile"
RABBITMQ_CONF = ROOT / "ops/rabbitmq/rabbitmq.conf"
ENABLED_PLUGINS = ROOT / "ops/rabbitmq/enabled_plugins"
PROMETHEUS = ROOT / "ops/prometheus/prometheus.yml"
HEALTHCHECK = ROOT / "ops/docker/healthcheck.py"
DEPLOY_DOC = ROOT / "docs/deploy.md"
GITIGNORE = ROOT / ".gitignore"
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
ONE_SHOT = {"service_completed_successfully"}


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = document().get("services") or {}
    assert found, "compose.yaml has no service"
    return found


def is_hub(service: dict[str, Any]) -> bool:
    build = service.get("build") or {}
    return bool(build) and Path(build.get("dockerfile", "")) == DOCKERFILE.relative_to(ROOT)


def hub_services() -> dict[str, dict[str, Any]]:
    found = {name: service for name, service in services().items() if is_hub(service)}
    assert found, "no service runs the hub's image"
    return found


def image_entrypoint() -> list[str]:
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("ENTRYPOINT"):
            entrypoint: list[str] = yaml.safe_load(line.removeprefix("ENTRYPOINT"))
            return entrypoint
    raise AssertionError("the Dockerfile has no ENTRYPOINT")


def hub_invocations(service: dict[str, Any]) -> Iterator[list[str]]:
    """The argument lists each ``hub`` the service runs is given."""
    entrypoint = service.get("entrypoint") or image_entrypoint()
    command = service.get("command") or []
    if entrypoint[0] == "hub":
        yield [*entrypoint[1:], *command]
        return
    assert entrypoint[:2] == ["/bin/sh", "-c"], entrypoint
    for step in re.split(r"&&|;", command[0]):
        words = shlex.split(step)
        if words and words[0] == "hub":
            redirect = next((i for i, word in enumerate(words) if word.startswith((">", "<", "|"))), None)
            yield words[1:redirect]


def workers() -> dict[str, dict[str, Any]]:
    found = {
        name: service
        for name, service in hub_services().items()
        if any(args[-1:] == ["run"] for args in hub_invocations(service))
    }
    assert len(found) >= 2, f"a province runs at least two workers: {sorted(found)}"
    return found


def resolved(text: str) -> str:
    """Compose's interpolation with nothing set: ${X:-default} is its default, ${X:?...} a placeholder."""
    return VARIABLE.sub(lambda m: m.group(3) if m.group(2) in ("-", ":-") else f"<{m.group(1)}>", text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.split("=", 1) for item in given)
    return {str(name): str(value) for name, value in given.items()}


def exposed_ports(service: dict[str, Any]) -> set[int]:
    """Container ports the service exposes or publishes ("127.0.0.1:15672:15672", "5672:5672", "9400")."""
    ports = {int(str(port)) for port in service.get("expose") or []}
    ports |= {int(str(port).rsplit(":", 1)[-1]) for port in service.get("ports") or []}
    return ports


def volumes(service: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for volume in service.get("volumes") or []:
        source, target, *_ = resolved(volume).split(":")
        found.append((source, target))
    return found


def rabbitmq_conf() -> dict[str, str]:
    lines = RABBITMQ_CONF.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def test_a_province_has_its_services() -> None:
    assert {"rabbitmq", "postgres", "prometheus", "grafana"} <= set(services())
    assert len(workers()) == 2


@pytest.mark.parametrize("name", sorted(hub_services()))
def test_every_hub_command_exists_in_the_cli(name: str, tmp_path: Path) -> None:
    config = tmp_path / "province.toml"
    config.write_text("", encoding="utf-8")
    invocations = list(hub_invocations(hub_services()[name]))
    assert invocations, f"{name} runs no hub command"
    for args in invocations:
        assert command_path(args, config) == " ".join(["hub", *subcommands(args)])


def test_the_services_run_what_a_province_needs() -> None:
    commands = {
        name: [" ".join(subcommands(args)) for args in hub_invocations(service)]
        for name, service in hub_services().items()
    }
    assert commands["definitions"] == ["topology show"]
    assert "--definitions" in next(hub_invocations(services()["definitions"]))
    assert commands["migrate"] == ["store migrate"]
    assert all(commands[name] == ["run"] for name in workers())


@pytest.mark.parametrize("name", sorted(hub_services()))
def test_every_hub_variable_is_a_setting_with_a_lawful_value(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith("HUB_")]:
        monkeypatch.delenv(variable)
    for variable, value in environment(hub_services()[name]).items():
        assert variable.startswith("HUB_"), f"{name} sets {variable}, which the hub does not read"
        field = variable.removeprefix("HUB_").lower().split("__")[0]  # HUB_GATEWAY__PORT: gateway.port
        assert field in Settings.model_fields, f"{variable} is no setting"
        monkeypatch.setenv(variable, value)
    Settings()  # a ValidationError names the variable and its rule


def test_workers_serve_health_and_metrics_where_prometheus_and_the_healthcheck_look() -> None:
    scraped = prometheus_targets("hub")
    assert "HUB_METRICS_PORT" in HEALTHCHECK.read_text(encoding="utf-8"), "hub-healthcheck asks elsewhere"
    for name, worker in workers().items():
        env = environment(worker)
        port = int(env["HUB_METRICS_PORT"])
        assert env["HUB_METRICS_HOST"] == "0.0.0.0", "Prometheus reaches the worker from another container"
        assert exposed_ports(worker) == {port}
        assert worker["healthcheck"]["test"] == ["CMD", "hub-healthcheck"]
        assert f"{name}:{port}" in scraped
    assert {target.split(":")[0] for target in scraped} == set(workers())


def http_partners() -> dict[str, list[str]]:
    """The services of the profile http-partners, by the command they run (e.g. ``deliver portal``)."""
    found = {
        name: " ".join(args[2:])
        for name, service in hub_services().items()
        if "http-partners" in (service.get("profiles") or [])
        for args in hub_invocations(service)
    }
    return {command: sorted(n for n, c in found.items() if c == command) for command in set(found.values())}


def test_the_http_partners_run_one_process_each_under_their_profile() -> None:
    # One runner per partner (two would share its dossiers' order), one poller per feed (its cursor).
    assert http_partners() == {
        "deliver portal": ["deliver-portal"],
        "deliver postal": ["deliver-postal"],
        "poll postal": ["poll-postal"],
        "gateway serve": ["gateway"],
    }
    longest = max(DeliveryPolicy().timeout_seconds, GatewaySettings().broker_timeout_seconds)
    for name in ("deliver-portal", "deliver-postal", "poll-postal", "gateway"):
        service = services()[name]
        assert set(service["depends_on"]) >= {"rabbitmq", "postgres", "migrate"}, name
        assert service["restart"] == "unless-stopped"
        assert int(service["stop_grace_period"].removesuffix("s")) >= 2 * longest
    for name in ("poll-postal", "gateway"):
        assert "broker.env" not in services()[name]["env_file"], "every partner's password"


def test_the_http_partners_serve_metrics_where_prometheus_looks() -> None:
    jobs = {
        "deliver": prometheus_targets("hub-deliver"),
        "poll": prometheus_targets("hub-poll"),
        "gateway": prometheus_targets("hub-gateway"),
    }
    for command, (name,) in http_partners().items():
        env = environment(services()[name])
        if command == "gateway serve":  # its own port serves the API, the probes and /metrics
            host, port = env["HUB_GATEWAY__HOST"], int(env["HUB_GATEWAY__PORT"])
            assert services()[name]["healthcheck"]["test"] == ["CMD", "hub-healthcheck", str(port)]
            # plain HTTP: published on the host's loopback only, for the TLS reverse proxy
            assert services()[name]["ports"] == [f"127.0.0.1:{port}:{port}"]
        else:
            host, port = env["HUB_METRICS_HOST"], int(env["HUB_METRICS_PORT"])
            assert services()[name]["healthcheck"]["test"] == ["CMD", "hub-healthcheck"]
        assert host == "0.0.0.0"
        assert exposed_ports(services()[name]) == {port}
        assert f"{name}:{port}" in jobs[command.split()[0]]
    scraped = {target.split(":")[0] for targets in jobs.values() for target in targets}
    assert scraped == {name for names in http_partners().values() for name in names}


def prometheus_targets(job: str) -> set[str]:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = [scrape for scrape in config["scrape_configs"] if scrape["job_name"] == job]
    assert jobs, f"prometheus.yml has no job {job}"
    targets = {t for scrape in jobs for static in scrape.get("static_configs", []) for t in static["targets"]}
    assert targets, f"job {job} scrapes nothing"
    return targets


def test_prometheus_reads_the_rules_and_scrapes_rabbitmq_where_its_plugin_listens() -> None:
    rabbitmq = services()["rabbitmq"]
    port = int(rabbitmq_conf()["prometheus.tcp.port"])
    assert prometheus_targets("rabbitmq") == {f"rabbitmq:{port}"}
    assert port in exposed_ports(rabbitmq)
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    mounted = {target: source for source, target in volumes(services()["prometheus"])}
    folder = (FOLDER / mounted["/etc/prometheus"]).resolve()
    assert "--config.file=/etc/prometheus/prometheus.yml" in services()["prometheus"]["command"]
    assert folder / "prometheus.yml" == PROMETHEUS
    assert config["rule_files"]
    for rules in config["rule_files"]:
        assert (folder / rules).is_file(), rules


def test_rabbitmq_listens_where_it_is_published_with_the_plugins_the_hub_needs() -> None:
    conf = rabbitmq_conf()
    listening = {int(conf[key]) for key in ("listeners.tcp.default", "management.tcp.port")}
    assert listening <= exposed_ports(services()["rabbitmq"])
    plugins = ENABLED_PLUGINS.read_text(encoding="utf-8").strip()
    assert plugins.endswith("].")
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(plugins.strip("[].").split(","))
    mounts = {target: source for source, target in volumes(services()["rabbitmq"])}
    assert (FOLDER / mounts["/etc/rabbitmq/enabled_plugins"]).resolve() == ENABLED_PLUGINS
    assert (FOLDER / mounts["/etc/rabbitmq/conf.d/20-hub.conf"]).resolve() == RABBITMQ_CONF


def test_rabbitmq_imports_the_definitions_the_definitions_service_writes() -> None:
    written = re.findall(r"mv \S+ (\S+)", services()["definitions"]["command"][0])
    assert len(written) == 1
    writer = {target: source for source, target in volumes(services()["definitions"])}
    reader = {target: source for source, target in volumes(services()["rabbitmq"])}
    folder, file = written[0].rsplit("/", 1)
    read_folder, read_file = rabbitmq_conf()["load_definitions"].rsplit("/", 1)
    assert file == read_file
    assert writer[folder] == reader[read_folder], "not the same volume"
    assert writer[folder] in document()["volumes"]


def test_every_mounted_file_is_in_the_repository_and_every_volume_declared() -> None:
    binds = 0
    for name, service in services().items():
        for source, _ in volumes(service):
            if source.startswith((".", "/")):
                path = (FOLDER / source).resolve()
                assert path.is_relative_to(ROOT), f"{name} mounts {source}, outside the repository"
                assert path.exists(), f"{name} mounts {source}, which does not exist"
                binds += 1
            else:
                assert source in (document().get("volumes") or {}), f"{name}: volume {source} undeclared"
        build = service.get("build")
        if build:
            assert (FOLDER / build["context"]).resolve() == ROOT
            assert (ROOT / build["dockerfile"]).is_file()
    assert binds >= 5


def test_env_files_not_in_the_repository_are_ignored_and_documented() -> None:
    ignored = GITIGNORE.read_text(encoding="utf-8").splitlines()
    guide = DEPLOY_DOC.read_text(encoding="utf-8")
    files = {file for service in services().values() for file in service.get("env_file") or []}
    assert "hub.env" in files
    for file in files:
        if (FOLDER / file).is_file():
            continue
        assert f"ops/compose/{file}" in ignored, f"{file} holds secrets: .gitignore it"
        assert f"ops/compose/{file}" in guide, f"docs/deploy.md must say how to write {file}"
    required = {
        m.group(1)
        for m in VARIABLE.finditer(COMPOSE.read_text(encoding="utf-8"))
        if (m.group(2) or "").endswith("?")
    }
    assert required
    for variable in required:
        assert variable in guide, f"docs/deploy.md must say how to set {variable}"
    assert "ops/compose/.env" in ignored


def test_start_order_waits_on_health_and_one_shots() -> None:
    every = services()
    for name, service in every.items():
        for needed, condition in (service.get("depends_on") or {}).items():
            assert needed in every, f"{name} depends on {needed}, which is no service"
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in every[needed], f"{needed} has no healthcheck"
            elif wanted in ONE_SHOT:
                assert every[needed].get("restart") == "no", f"{needed} is not a one-shot"
            else:
                raise AssertionError(f"{name}: depends on {needed} only being started")
    for name, worker in workers().items():
        assert set(worker["depends_on"]) >= {"rabbitmq", "postgres", "migrate"}, name
    assert "definitions" in every["rabbitmq"]["depends_on"]


def test_workers_stop_on_sigterm_after_the_shutdown_grace() -> None:
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    for worker in workers().values():
        assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"
        assert int(worker["stop_grace_period"].removesuffix("s")) >= 2 * grace
        assert worker["restart"] == "unless-stopped"  # on-failure is not restarted after a reboot


def test_the_guide_connects_to_the_services_by_their_names_and_ports() -> None:
    guide = DEPLOY_DOC.read_text(encoding="utf-8")
    postgres = environment(services()["postgres"])
    database = re.findall(r"HUB_DATABASE_URL=postgresql://(\w+):[^@\s]+@postgres:(\d+)/(\w+)", guide)
    assert database, "docs/deploy.md gives no compose HUB_DATABASE_URL"
    for user, port, name in database:
        assert (user, name) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
        assert int(port) in exposed_ports(services()["postgres"])
    broker = re.findall(r"HUB_BROKER_URL=amqp://[\w-]+:[^@\s]+@rabbitmq:(\d+)/", guide)
    assert broker, "docs/deploy.md gives no compose HUB_BROKER_URL"
    for port in broker:
        assert int(port) == int(rabbitmq_conf()["listeners.tcp.default"])


def test_grafana_finds_prometheus_and_the_dashboards_where_compose_puts_them() -> None:
    grafana = services()["grafana"]
    mounts = {target: (FOLDER / source).resolve() for source, target in volumes(grafana)}
    provisioning = mounts["/etc/grafana/provisioning"]
    sources = [
        source
        for file in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(file.read_text(encoding="utf-8"))["datasources"]
    ]
    assert sources, "no data source provisioned"
    for source in sources:
        host, _, port = source["url"].removeprefix("http://").partition(":")
        assert host in services(), f"data source {source['name']}: no service {host}"
        assert int(port) in exposed_ports(services()[host])
    providers = [
        provider
        for file in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(file.read_text(encoding="utf-8"))["providers"]
    ]
    assert providers, "no dashboard provider"
    for provider in providers:
        folder = mounts[provider["options"]["path"]]
        assert list(folder.glob("*.json")), f"{folder} holds no dashboard"
