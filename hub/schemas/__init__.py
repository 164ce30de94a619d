"""Canonical events: the Avro catalogue in ``schemas/``, its registry, lock and compatibility gate."""

from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[2] / "schemas"
