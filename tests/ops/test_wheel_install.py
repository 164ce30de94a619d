"""The hub as IT staff install it: the wheel, installed by the container image's own install script
(ops/docker/install.sh) into a fresh venv outside the checkout, run from an empty directory.

The wheel is built and installed once per module (about a minute, dependencies from the package index
through pip's cache); each test then runs one command of the installed ``hub`` with nothing of the
checkout on its path: no HUB_* settings, no PYTHONPATH, a working directory of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "ops/docker/install.sh"
INSTALL_TIMEOUT_SECONDS = 480
COMMAND_TIMEOUT_SECONDS = 120

PROBE = "import psycopg, hub.schemas as s; print(s.__file__, s.CATALOGUE)"

pytestmark = pytest.mark.timeout(600)


def _clean_environment(prefix: Path) -> dict[str, str]:
    """The caller's environment without the hub's settings and without anything pointing at the checkout."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("HUB_", "PYTHON", "VIRTUAL_ENV")) and name != "CI"
    }
    return {**kept, "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv install.sh made from a freshly built wheel; its bin/ holds ``hub``."""
    base = tmp_path_factory.mktemp("wheel-install")
    assert not base.is_relative_to(ROOT), "the install must happen outside the checkout"
    wheels, prefix = base / "wheels", base / "venv"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
    )
    subprocess.run(
        ["sh", str(INSTALL_SCRIPT), "--prefix", str(prefix), str(wheels)],
        check=True,
        timeout=INSTALL_TIMEOUT_SECONDS,
        env=_clean_environment(prefix),
        cwd=base,
    )
    return prefix


@pytest.fixture
def empty_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("empty")


def hub(prefix: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(prefix / "bin/hub"), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        env=_clean_environment(prefix),
        cwd=cwd,
        check=False,
    )


def test_the_installed_hub_is_not_the_checkout(installed: Path, empty_directory: Path) -> None:
    """Its modules and catalogue are the venv's, and the postgres extra came with it."""
    probe = subprocess.run(
        [str(installed / "bin/python"), "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        env=_clean_environment(installed),
        cwd=empty_directory,
        check=True,
    )
    for path in probe.stdout.split():
        assert Path(path).is_relative_to(installed), probe.stdout


def test_demo_accounts_for_every_message(installed: Path, empty_directory: Path) -> None:
    result = hub(installed, empty_directory, "demo", "--count", "200")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "every message accounted for: yes" in result.stdout
    assert "processing_failed" not in result.stdout


def test_schemas_check_counts_the_shipped_catalogue(installed: Path, empty_directory: Path) -> None:
    shipped = len(Registry.load(CATALOGUE).names())
    result = hub(installed, empty_directory, "schemas", "check")
    assert result.returncode == 0, result.stderr
    counted = re.search(r"schemas ok: (\d+) records", result.stdout)
    assert counted is not None, result.stdout
    assert int(counted.group(1)) == shipped > 0


def test_release_refuses_to_edit_the_installed_catalogue(installed: Path, empty_directory: Path) -> None:
    result = hub(installed, empty_directory, "schemas", "release")
    assert result.returncode != 0
    assert "is the catalogue installed with the hub: release in a checkout's schemas/" in result.stderr


def test_installed_hub_renders_the_committed_partner_docs(installed: Path, empty_directory: Path) -> None:
    """The installed code and catalogue render exactly the docs committed with the sources it came from."""
    result = hub(installed, empty_directory, "docs", "--check", "--out", str(ROOT / "docs"))
    assert result.returncode == 0, result.stderr


def test_healthcheck_is_installed_beside_hub(installed: Path) -> None:
    healthcheck = installed / "bin/hub-healthcheck"
    assert os.access(healthcheck, os.X_OK)
    assert healthcheck.read_text(encoding="utf-8").splitlines()[0] == f"#!{installed}/bin/python"
