"""Where the fault runs' figures go: one line per scenario on stdout (``pytest -s`` shows it) and a
JSON object by scenario, in the file named by ``HUB_FAULT_FIGURES`` (runs add to it) or else in the
test's temporary directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.faults.checker import Figures

ENVIRONMENT = "HUB_FAULT_FIGURES"


def record(figures: Figures, tmp_path: Path) -> Path:
    """Print ``figures`` as one line and add them to the JSON file; the file's path."""
    chosen = os.environ.get(ENVIRONMENT)
    path = Path(chosen) if chosen else tmp_path / "fault-figures.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known[figures.scenario] = figures.as_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    print(f"\nFAULT {figures.line()}\n      figures: {path}")
    return path
