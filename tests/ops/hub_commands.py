"""What the deployment files ask of ``hub``, checked against the CLI itself (click), so a renamed
command or option fails a test instead of a deployment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from hub.cli import main


def command_path(args: Sequence[str], config_file: Path) -> str:
    """The command path ``hub ARGS`` runs (e.g. ``hub topology apply``); AssertionError with click's
    own message for a command or option that does not exist. A ``--config`` file is replaced with
    ``config_file`` (an existing TOML file), since the group reads it before any subcommand."""
    given = list(args)
    if "--config" in given:
        given[given.index("--config") + 1] = str(config_file)
    result = CliRunner().invoke(main, [*given, "--help"], prog_name="hub")
    assert result.exit_code == 0, f"hub {' '.join(args)}: {result.output}"
    usage = result.output.splitlines()[0]
    assert usage.startswith("Usage: hub "), usage
    return usage.removeprefix("Usage: ").split(" [OPTIONS]")[0]


def subcommands(args: Sequence[str]) -> list[str]:
    """The command words of ``hub ARGS``: after the group's ``--config FILE``, up to the first option."""
    given = list(args)
    if given[:1] == ["--config"]:
        given = given[2:]
    first_option = next((i for i, word in enumerate(given) if word.startswith("-")), len(given))
    return given[:first_option]
