"""ops/hub.env.example: generated from the settings model, current, and every line of it lawful."""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path
from typing import Literal

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field, SecretStr

from hub import settings_template
from hub.cli import main
from hub.crypto import generate_key_text
from hub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / settings_template.TEMPLATE_FILE
VARIABLE_LINE = re.compile(r"^#(HUB_[A-Z0-9_]+)=(.*)$")
PLACEHOLDER = re.compile(r"<[^<>]+>")


class _Extended(Settings):
    signature_modes: dict[str, Literal["off", "optional", "required"]] = Field(
        default_factory=dict, description="partner -> how its signatures are checked"
    )
    drain_seconds: int = Field(default=3, description="a brand new knob")


def filled_in(value: str) -> str:
    """The value with each <...> placeholder replaced by what an operator would put there: a base64
    key (a public one where a public key is asked for)."""
    public = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
    return PLACEHOLDER.sub(lambda m: public if "public" in m.group(0) else generate_key_text(), value)


def variable_lines(text: str) -> dict[str, str]:
    """HUB_NAME -> its value as systemd and compose read it (single quotes stripped)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = VARIABLE_LINE.match(line)
        if match:
            name, value = match.groups()
            assert name not in found, f"{name} twice"
            found[name] = value[1:-1] if value.startswith("'") and value.endswith("'") else value
    return found


def test_the_committed_template_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == settings_template.render()


def test_every_setting_has_one_variable_line_and_every_line_is_a_setting() -> None:
    lines = variable_lines(settings_template.render())
    assert lines, "the template lists no variable"
    assert set(lines) == {f"HUB_{name.upper()}" for name in Settings.model_fields}


def test_a_changed_model_makes_the_committed_template_stale() -> None:
    text = settings_template.render(_Extended)
    assert settings_template.stale(text, COMMITTED)
    assert "# --- HUB_DRAIN_SECONDS ---\n# a brand new knob\n# Default: 3.\n#HUB_DRAIN_SECONDS=3\n" in text
    assert '#HUB_SIGNATURE_MODES=\'{"name": "off"}\'' in text


def test_check_fails_naming_the_stale_file_and_passes_once_written(tmp_path: Path) -> None:
    out = tmp_path / "hub.env.example"
    out.write_text(settings_template.render(_Extended), encoding="utf-8")
    runner = CliRunner()
    stale = runner.invoke(main, ["config", "template", "--check", "--out", str(out)])
    assert stale.exit_code == 1
    assert f"stale: {out}" in stale.output
    assert runner.invoke(main, ["config", "template", "--out", str(out)]).exit_code == 0
    current = runner.invoke(main, ["config", "template", "--check", "--out", str(out)])
    assert current.exit_code == 0, current.output
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


@pytest.mark.parametrize("model", [Settings, _Extended], ids=["settings", "extended"])
def test_every_value_line_loads_through_the_environment(
    model: type[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncommenting any line (an example or the default) gives settings the model accepts."""
    lines = variable_lines(settings_template.render(model))
    for name, value in lines.items():
        if not value:
            continue  # an unset default: nothing to uncomment as is
        with monkeypatch.context() as env:
            env.setenv(name, filled_in(value))
            model()  # raises ValidationError naming the setting


def test_scalar_lines_hold_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"HUB_{name.upper()}", raising=False)
    defaults = Settings().model_dump()
    lines = variable_lines(settings_template.render())
    scalars = [
        name
        for name, field in Settings.model_fields.items()
        if not settings_template.is_structured(field.annotation) and lines[f"HUB_{name.upper()}"]
    ]
    assert len(scalars) > 10
    for name in scalars:
        monkeypatch.setenv(f"HUB_{name.upper()}", lines[f"HUB_{name.upper()}"])
    assert Settings().model_dump() == defaults
    assert lines["HUB_PREFETCH"] == "500"


def test_json_values_are_single_quoted_for_systemd_and_compose() -> None:
    """systemd's EnvironmentFile would eat the double quotes of unquoted JSON."""
    raw = [line for line in settings_template.render().splitlines() if VARIABLE_LINE.match(line)]
    json_lines = [line for line in raw if '"' in line or "{" in line or "[" in line]
    assert len(json_lines) >= 4
    for line in json_lines:
        assert line.partition("=")[2].startswith("'"), line
        assert line.endswith("'"), line


def test_the_agency_example_is_a_lawful_toml_table(tmp_path: Path) -> None:
    text = settings_template.render()
    block = text.split("# --- HUB_AGENCIES ---")[1].split("# or here")[0]
    toml = "\n".join(line.removeprefix("#   ") for line in block.splitlines() if line.startswith("#   "))
    registry = tomllib.loads(toml)
    assert len(registry["agencies"]) == 1
    assert Settings(agencies=registry["agencies"]).agencies[0].has_postal_contact()


def test_secrets_are_marked_and_nothing_else_is() -> None:
    text = settings_template.render()
    marked = set(re.findall(r"^# --- (HUB_[A-Z0-9_]+) \(secret\) ---$", text, re.MULTILINE))
    assert {
        "HUB_BROKER_URL",
        "HUB_DATABASE_URL",
        "HUB_MASTER_KEYS",
        "HUB_PSEUDONYM_KEY",
        "HUB_AUDIT_SIGNING_KEY",
    } <= marked
    assert "HUB_PREFETCH" not in marked
    assert "HUB_ACTIVE_MASTER_KEY" not in marked
    assert settings_template.is_secret(dict[str, SecretStr])
    assert not settings_template.is_secret(dict[str, list[str]])


def test_each_setting_says_what_it_means() -> None:
    text = settings_template.render()
    assert "# --- HUB_PREFETCH ---\n# unacknowledged inputs per worker\n# Default: 500.\n" in text
    assert "# Default: unset.\n#HUB_BROKER_URL=\n" in text
