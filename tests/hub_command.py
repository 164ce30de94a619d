"""The real ``hub`` command in a subprocess, with only the settings a test gives it, and the checks
every start error must pass: one line on stderr, naming the setting, no traceback, no password."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.crypto import generate_key_text
from hub.settings import Settings

TIMEOUT = 30.0  # seconds: imports and one refused connection, on a busy machine
PASSWORD = "s3cret-Pa55"
# Production keys, so that no development-key warning shares stderr with the line under test: the
# master keys, and every single secret key (32 random bytes suit HMAC and Ed25519 seeds alike).
KEYS = {
    "HUB_MASTER_KEYS": f'{{"k1": "{generate_key_text()}"}}',
    **{
        f"HUB_{name.upper()}": generate_key_text()
        for name, field in Settings.model_fields.items()
        if name.endswith("_key") and "SecretStr" in str(field.annotation)
    },
}
# ``hub`` with the PostgreSQL driver hidden, as on an install without the ``postgres`` extra.
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from hub.cli import main; main(prog_name='hub')"


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def hub(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, without_psycopg: bool = False
) -> Finished:
    """Run ``hub ARGS`` in ``cwd`` with the environment's ``HUB_`` variables replaced by ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
    environment.update(env or {})
    entry = ["-c", WITHOUT_PSYCOPG] if without_psycopg else ["-m", "hub"]
    done = subprocess.run(
        [sys.executable, *entry, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Finished(done.returncode, done.stdout, done.stderr)


def one_line_error(finished: Finished, code: int, *expected: str) -> str:
    """The one stderr line of a command that ended with ``code``; it says each of ``expected``."""
    assert finished.code == code, finished
    assert "Traceback" not in finished.stderr, finished.stderr
    assert len(finished.lines) == 1, finished.stderr
    assert PASSWORD not in finished.stderr + finished.stdout
    line = finished.lines[0]
    assert line.startswith("Error: "), line
    for text in expected:
        assert text in line, line
    return line
