"""pyproject.toml's package list and data globs against the tree: the wheel carries every package and
every file of the catalogue (tests/ops/test_wheel_install.py proves it on an installed wheel, slowly)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Any

from hub.schemas import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_PACKAGE = "hub.schemas.catalogue"


def setuptools_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config["tool"]["setuptools"])


def package_directory(name: str, mapped: dict[str, str]) -> Path:
    """Where setuptools takes package ``name`` from: its own mapping, a mapped parent's, or its path."""
    for parent, directory in sorted(mapped.items(), key=lambda item: -len(item[0])):
        if name == parent or name.startswith(parent + "."):
            return ROOT / directory / Path(*name[len(parent) :].split(".")[1:])
    return ROOT / Path(*name.split("."))


def source_packages() -> set[str]:
    """Every directory under hub/ and connectors/ that Python can import from or that holds data."""
    found = set()
    for top in ("hub", "connectors"):
        for directory in [ROOT / top, *(ROOT / top).rglob("*")]:
            if directory.is_dir() and directory.name.isidentifier() and directory.name != "__pycache__":
                found.add(".".join(directory.relative_to(ROOT).parts))
    return found


def test_every_package_directory_is_listed() -> None:
    config = setuptools_config()
    listed = set(config["packages"])
    catalogue = {name for name in listed if name.startswith(CATALOGUE_PACKAGE)}
    missing = source_packages() - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    for name in sorted(listed):
        assert package_directory(name, config["package-dir"]).is_dir(), name
    assert listed - source_packages() == catalogue


def glob_matches(relative: Path, pattern: str) -> bool:
    """setuptools' package-data glob: ``*`` stays within one directory level."""
    parts = pattern.split("/")
    return len(parts) == len(relative.parts) and all(map(fnmatch.fnmatchcase, relative.parts, parts))


def test_every_catalogue_file_is_package_data() -> None:
    config = setuptools_config()
    data: dict[str, list[str]] = config["package-data"]
    root = ROOT / config["package-dir"][CATALOGUE_PACKAGE]
    for path in root.rglob("*"):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".py":
            continue
        relative = path.relative_to(root)
        carried = [
            package
            for package, patterns in data.items()
            if package.startswith(CATALOGUE_PACKAGE)
            for prefix in [package.removeprefix(CATALOGUE_PACKAGE).lstrip(".").replace(".", "/")]
            if relative.is_relative_to(prefix)
            and any(glob_matches(relative.relative_to(prefix), p) for p in patterns)
        ]
        assert carried, f"schemas/{relative} would be left out of the wheel: add a package-data glob"


def test_a_checkout_reads_and_releases_into_its_own_schemas_folder() -> None:
    """The editable install maps the catalogue package onto schemas/, so `hub schemas release` edits it."""
    assert CATALOGUE == ROOT / "schemas"
