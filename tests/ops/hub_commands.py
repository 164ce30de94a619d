"""What the deployment files ask of ``hub``, checked against the CLI itself (click), so a renamed
command or option fails a test instead of a deployment."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
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
    """The command words of ``hub ARGS``: after the group's ``--config FILE``, the words that name a
    command of the group before them (``deliver`` of ``deliver portal``, whose partner is an argument)."""
    given = list(args)
    if given[:1] == ["--config"]:
        given = given[2:]
    words: list[str] = []
    command: click.Command = main
    for word in given:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        words.append(word)
    return words
