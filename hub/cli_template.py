"""``hub config template``: write or check the settings template (ops/hub.env.example)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub import settings_template


@click.command("template")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=settings_template.TEMPLATE_FILE,
    show_default=True,
    help="the file to write; '-' prints it",
)
@click.option("--check", is_flag=True, help="write nothing; exit 1 when the file is stale")
def config_template(out: Path, check: bool) -> None:
    """Generate the settings template: every HUB_* variable, its meaning, default, and whether it is
    a secret (copy it to /etc/dossier-hub/hub.env or ops/compose/hub.env)."""
    text = settings_template.render()
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    if check:
        if settings_template.stale(text, out):
            click.echo(f"stale: {out} (regenerate with `hub config template`)", err=True)
            sys.exit(1)
        click.echo(f"settings template current: {out}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")
