"""``hub config show | check``: what each setting is and means, and whether the whole is ready to run."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

import connectors
from hub import config_check
from hub.exits import Exit
from hub.settings import Settings, describe

MEANING_WIDTH = 100


@click.group()
def config() -> None:
    """Inspect the effective configuration and check it before a start."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="the effective values only, as one JSON object")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Print each setting: its environment variable, its effective value (environment over file over
    defaults, secrets masked), where the value came from, and what it means."""
    settings: Settings = ctx.obj
    if as_json:
        click.echo(json.dumps(describe(settings), indent=2, ensure_ascii=False))
        return
    for block in explained(settings, os.environ):
        click.echo(block)


def command_variables(command: click.Command) -> set[str]:
    """The environment variables that options of ``command`` and its subcommands read (click's
    ``envvar``): not settings, yet not unknown either."""
    found: set[str] = set()
    for param in command.params:
        names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
        found.update(name.upper() for name in names)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found |= command_variables(sub)
    return found


def explained(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """One block per setting, in the model's order: ``HUB_NAME = value  (source)`` and its meaning."""
    values = describe(settings)
    blocks = []
    for name, field in Settings.model_fields.items():
        variable = f"HUB_{name.upper()}"
        head = f"{variable} = {_shown(values[name])}  ({_source(name, settings, environ)})"
        meaning = textwrap.fill(
            field.description or "", MEANING_WIDTH, initial_indent="    ", subsequent_indent="    "
        )
        blocks.append(f"{head}\n{meaning}" if meaning else head)
    return blocks


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):  # the agency registry
        return f"{len(value)} units (`hub config show --json` lists them)"
    return json.dumps(value, ensure_ascii=False)


def _source(name: str, settings: Settings, environ: Mapping[str, str]) -> str:
    variable = f"HUB_{name.upper()}"
    if any(key.upper() == variable or key.upper().startswith(f"{variable}__") for key in environ):
        return "environment"
    return "file" if name in settings.model_fields_set else "default"


@config.command("check")
@click.option("--offline", is_flag=True, help="settings, agency registry and keys only: no store or broker")
@click.pass_context
def config_check_command(ctx: click.Context, offline: bool) -> None:
    """Check the settings, the agency registry, the keys, the store (reachable, schema current) and
    the broker (reachable, vhost, the hub's queues), one line each: ok, warn or FAIL. Changes
    nothing. Exits 1 when any line is FAIL."""
    settings: Settings = ctx.obj
    config_file: Path | None = ctx.find_root().params.get("config_file")
    known = command_variables(ctx.find_root().command)
    findings = config_check.check(
        settings,
        connectors.partners(),
        os.environ,
        config_file=config_file,
        connect=not offline,
        also_known=known,
        speakers={partner: connectors.load(partner) for partner in connectors.partners()},
    )
    for finding in findings:
        click.echo(finding.line())
    if config_check.failed(findings):
        click.echo("configuration not ready: fix the FAIL lines", err=True)
        sys.exit(int(Exit.FAILURE))
    click.echo("configuration ready" + (" (store and broker not checked)" if offline else ""))
