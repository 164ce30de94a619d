"""ops/systemd: the units pass ``systemd-analyze verify`` and agree with the hub (its commands, exit
codes, settings and shutdown grace)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from hub.exits import PERMANENT
from hub.settings import Settings
from hub.settings.delivery import DeliveryPolicy
from hub.settings.gateway import GatewaySettings
from tests.ops.hub_commands import command_path, subcommands

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "ops/systemd"
WORKER = UNITS / "hub-worker@.service"
DELIVER = UNITS / "hub-deliver@.service"
POLL = UNITS / "hub-poll@.service"
GATEWAY = UNITS / "hub-gateway.service"
LONG_RUNNING = (WORKER, DELIVER, POLL, GATEWAY)  # the target's processes that stop on SIGTERM
# An instance for each template: the worker's number, the partner delivered to, the feed's partner.
INSTANCES = {WORKER.name: "1", DELIVER.name: "portal", POLL.name: "postal"}
SETUP = UNITS / "hub-setup.service"
TARGET = UNITS / "hub.target"
INSTALLED_HUB = "/opt/dossier-hub/bin/hub"
ENV_FILE = "/etc/dossier-hub/hub.env"
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes"}


def directives(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of every line, in order; keys may repeat (ExecStart of a oneshot)."""
    found: list[tuple[str, str, str]] = []
    section = ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def values(unit: Path, key: str) -> list[str]:
    return [value for _, found, value in directives(unit) if found == key]


def only(unit: Path, key: str) -> str:
    found = values(unit, key)
    assert len(found) == 1, f"{unit.name}: {key} set {len(found)} times"
    return found[0]


def service_units() -> list[Path]:
    found = sorted(UNITS.glob("*.service"))
    assert found, "no service unit in ops/systemd"
    return found


def seconds(span: str) -> float:
    """A systemd time span (30, 30s, 1min 30s, 2min) in seconds."""
    factors = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span)
    assert parts, span
    return sum(float(number) * factors[unit] for number, unit in parts)


def systemd_analyze() -> str:
    """systemd-analyze's path. Missing: the test skips locally and fails under CI=true."""
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is required under CI=true (Debian package systemd)")
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    return found


def verify(units: Iterable[Path], folder: Path) -> list[str]:
    """``systemd-analyze verify`` on copies whose ExecStart runs this checkout's ``hub`` (verify
    refuses a binary that does not exist); the lines it says about our units. It exits 0 even for
    an unknown key or a bad value, so any line naming one of them is a failure."""
    analyze = systemd_analyze()
    hub = Path(sys.executable).with_name("hub")
    names = []
    for unit in units:
        copy = folder / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(INSTALLED_HUB, str(hub)), encoding="utf-8")
        names.append(str(copy).replace("@.service", "@1.service"))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names], capture_output=True, text=True, timeout=60, check=False
    )
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0 or said, "verify failed without a word"
    return said


def all_units() -> list[Path]:
    return [*service_units(), TARGET]


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    assert verify(all_units(), tmp_path) == []


@pytest.mark.parametrize(
    ("line", "mistake"),
    [
        ("Restart=on-failure", "Restart=sometimes"),
        ("PrivateTmp=yes", "PrivatTmp=yes"),
        ("KillSignal=SIGTERM", "KillSignal=SIGFOO"),
    ],
)
def test_verify_catches_a_mistake(tmp_path: Path, line: str, mistake: str) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / WORKER.name).write_text(WORKER.read_text(encoding="utf-8").replace(line, mistake))
    said = verify([broken / WORKER.name], tmp_path)
    assert said
    assert any(WORKER.name in line for line in said), said


@pytest.mark.parametrize("unit", service_units(), ids=lambda unit: unit.name)
def test_every_command_exists_in_the_cli(unit: Path, tmp_path: Path) -> None:
    config = tmp_path / "province.toml"
    config.write_text("", encoding="utf-8")
    commands = values(unit, "ExecStart")
    assert commands
    instance = INSTANCES.get(unit.name, "%i")
    for line in commands:
        binary, *args = line.replace("%i", instance).split()
        assert binary == INSTALLED_HUB
        assert args[:2] == ["--config", "/etc/dossier-hub/province.toml"]
        assert command_path(args, config) == " ".join(["hub", *subcommands(args)])


def test_the_setup_declares_the_topology_then_migrates() -> None:
    commands = [line.split()[3:] for line in values(SETUP, "ExecStart")]
    assert commands == [["topology", "apply"], ["store", "migrate"]]
    assert only(SETUP, "Type") == "oneshot"


def test_each_template_runs_its_command_for_its_instance() -> None:
    assert only(WORKER, "ExecStart").split()[3:] == ["run"]
    assert only(DELIVER, "ExecStart").split()[3:] == ["deliver", "%i"]
    assert only(POLL, "ExecStart").split()[3:] == ["poll", "%i"]
    assert only(GATEWAY, "ExecStart").split()[3:] == ["gateway", "serve"]


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda unit: unit.name)
def test_processes_restart_only_when_it_can_help(unit: Path) -> None:
    assert only(unit, "Restart") == "on-failure"
    permanent = {int(code) for code in PERMANENT}
    assert permanent
    assert {int(code) for code in only(unit, "RestartPreventExitStatus").split()} == permanent


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda unit: unit.name)
def test_processes_stop_on_sigterm_after_the_shutdown_grace(unit: Path) -> None:
    grace = Settings.model_fields["shutdown_grace_seconds"].default
    call_timeout = max(
        DeliveryPolicy.model_fields["timeout_seconds"].default,
        GatewaySettings.model_fields["broker_timeout_seconds"].default,  # a request under way
    )
    assert only(unit, "KillSignal") == "SIGTERM"
    assert seconds(only(unit, "TimeoutStopSec")) >= 2 * max(grace, call_timeout)


@pytest.mark.parametrize("unit", [DELIVER, POLL, GATEWAY], ids=lambda unit: unit.name)
def test_runners_read_their_own_settings_after_the_common_ones(unit: Path) -> None:
    """The metrics port (a poller's broker password, the gateway's port, partners' credentials and
    broker passwords) differ per process: an optional file each, per instance for a template."""
    files = values(unit, "EnvironmentFile")
    assert files[0] == ENV_FILE
    name = unit.name.removesuffix(".service")
    own = f"{name.removesuffix('@')}-%i" if name.endswith("@") else name
    assert files[1:] == [f"-/etc/dossier-hub/{own}.env"]


@pytest.mark.parametrize("unit", service_units(), ids=lambda unit: unit.name)
def test_services_read_the_settings_file_as_a_dedicated_user_and_are_hardened(unit: Path) -> None:
    assert values(unit, "EnvironmentFile")[0] == ENV_FILE
    assert only(unit, "User") not in {"root", "0"}
    for key, value in HARDENING.items():
        assert only(unit, key) == value, key


def test_the_environment_the_worker_sets_is_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Instance N's metrics port is 940N, a lawful HUB_METRICS_PORT."""
    assignments = [value.split("=", 1) for value in values(WORKER, "Environment")]
    assert assignments
    for instance in ("1", "9"):
        for name, value in assignments:
            assert name.startswith("HUB_")
            assert name.removeprefix("HUB_").lower() in Settings.model_fields, name
            monkeypatch.setenv(name, value.replace("%i", instance))
        assert Settings().metrics_port == int(f"940{instance}")


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda unit: unit.name)
def test_the_target_groups_the_setup_and_the_long_running_processes(unit: Path) -> None:
    assert only(unit, "WantedBy") == TARGET.name
    assert only(unit, "PartOf") == TARGET.name
    assert SETUP.name in only(TARGET, "Wants").split()
    assert SETUP.name in only(unit, "After").split()
