"""``hub audit``: what happened to a dossier, and proof that the record was not edited since."""

from __future__ import annotations

import click


@click.group()
def audit() -> None:
    """The audit log: trail, search, export, forget, verify."""
