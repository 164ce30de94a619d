"""The exit codes are distinct and documented where operators look: README (Operations) and the
runbook's "Exit codes"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.errors import BrokerRefused, ConfigError, FatalError, StoreRefused, TopologyConflict, TopologyMissing
from hub.exits import Exit

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\s*\|\s*(\d+)\s*\|", re.MULTILINE)


def test_each_permanent_failure_has_its_own_code() -> None:
    codes = [
        error.exit_code
        for error in (ConfigError, BrokerRefused, StoreRefused, TopologyMissing, TopologyConflict)
    ]
    assert len(set(codes)) == len(codes)
    assert FatalError.exit_code == Exit.FAILURE
    assert int(Exit.USAGE) == 2  # click's own code for a wrong command line


@pytest.mark.parametrize(
    ("document", "heading"), [("README.md", "## Operations"), ("docs/runbook.md", "## Exit codes")]
)
def test_the_codes_are_listed_in_the_docs(document: str, heading: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    assert [int(code) for code in ROW.findall(section)] == [int(code) for code in Exit]
