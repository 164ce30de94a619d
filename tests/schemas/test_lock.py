"""The release gate: frozen revisions stay frozen, incompatible changes never ship."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.errors import ConfigError
from hub.exits import Exit
from hub.schemas import CATALOGUE, lock
from hub.schemas.registry import Registry

WITHDRAWN = "hub.dossier.v1/DossierWithdrawn.avsc"


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(CATALOGUE, copy)
    return copy


def edit(path: Path, change: Any) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")


def check(root: Path) -> Any:
    return CliRunner().invoke(main, ["schemas", "check", "--root", str(root)])


def test_the_repository_catalogue_passes_and_has_nothing_pending() -> None:
    result = check(CATALOGUE)
    assert result.exit_code == 0, result.output
    assert "pending" not in result.output
    assert lock.problems(CATALOGUE) == []


def test_an_edited_released_revision_is_caught(catalogue: Path) -> None:
    frozen = catalogue / "released" / "hub.dossier.v1.DossierWithdrawn" / "1.avsc"
    edit(frozen, lambda s: s["fields"][-1].update(doc="edited after release"))
    assert lock.problems(catalogue) == []  # a doc is not part of the parsing canonical form
    edit(frozen, lambda s: s["fields"].pop())
    result = check(catalogue)
    assert result.exit_code == 1
    assert "hub.dossier.v1.DossierWithdrawn: released revision 1 was edited" in result.output


def test_a_deleted_frozen_copy_is_caught(catalogue: Path) -> None:
    (catalogue / "released" / "hub.dossier.v1.DossierWithdrawn" / "1.avsc").unlink()
    assert [str(p) for p in lock.problems(catalogue)] == [
        "hub.dossier.v1.DossierWithdrawn: released revision 1 has no frozen copy in schemas/released/"
    ]


def add_field(field: dict[str, Any]) -> Any:
    return lambda schema: schema["fields"].append(field)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            add_field({"name": "channel", "type": "string"}),
            "FULL_TRANSITIVE: DossierWithdrawn.channel: field 'channel' is in the new schema without a",
        ),
        (
            lambda s: s["fields"].pop(),  # reason, which has no default
            "FULL_TRANSITIVE: DossierWithdrawn.reason: field 'reason' is in previous version 1 of 1 without",
        ),
        (
            lambda s: s["fields"][-1].update(type="int"),
            "FULL_TRANSITIVE: DossierWithdrawn.reason:",
        ),
    ],
)
def test_an_incompatible_change_fails_the_check_naming_record_field_and_rule(
    catalogue: Path, change: Any, message: str
) -> None:
    edit(catalogue / WITHDRAWN, change)
    result = check(catalogue)
    assert result.exit_code == 1
    assert f"FAIL hub.dossier.v1.DossierWithdrawn: {message}" in result.output
    with pytest.raises(ConfigError, match="cannot release"):
        lock.release(catalogue)


def test_a_compatible_change_is_pending_then_released_as_the_next_revision(catalogue: Path) -> None:
    edit(catalogue / WITHDRAWN, add_field({"name": "channel", "type": ["null", "string"], "default": None}))
    assert "pending release: hub.dossier.v1.DossierWithdrawn" in check(catalogue).output
    (version,) = lock.release(catalogue)
    assert (version.full_name, version.revision) == ("hub.dossier.v1.DossierWithdrawn", 2)
    assert (catalogue / "released" / "hub.dossier.v1.DossierWithdrawn" / "2.avsc").exists()
    assert (
        lock.read_lock(catalogue)["hub.dossier.v1.DossierWithdrawn"][-1]["fingerprint"] == version.fingerprint
    )
    assert lock.problems(catalogue) == []


def test_modes_are_configured_per_record(catalogue: Path) -> None:
    modes = {"default": "FULL_TRANSITIVE", "records": {"hub.dossier.v1.DossierWithdrawn": "FORWARD"}}
    (catalogue / "compatibility.json").write_text(json.dumps(modes))
    edit(catalogue / WITHDRAWN, add_field({"name": "channel", "type": "string"}))
    assert lock.problems(catalogue) == []  # old readers ignore the new field: FORWARD holds
    assert lock.mode_of(catalogue, "hub.dossier.v1.DossierWithdrawn") == "FORWARD"


def test_a_catalogue_without_records_fails_the_check_and_every_reader(catalogue: Path) -> None:
    """What an install without its catalogue looked like: ``schemas ok: 0 records``, exit 0."""
    for records in [p for p in catalogue.iterdir() if p.is_dir() and p.name.startswith("hub.")]:
        shutil.rmtree(records)
    result = check(catalogue)
    assert result.exit_code == Exit.CONFIG, result.output
    assert f"schema catalogue {catalogue}: no records" in result.output
    assert "schemas ok" not in result.output
    with pytest.raises(ConfigError, match="no records"):
        Registry.load(catalogue)
    with pytest.raises(ConfigError, match="no records"):
        lock.release(catalogue)


def test_an_enum_default_outside_its_symbols_fails_the_check_naming_record_field_and_rule(
    catalogue: Path,
) -> None:
    """fastavro refuses such a schema without saying where; the gate names every record using it."""
    edit(catalogue / "hub.common.v1/Party.avsc", lambda s: s["fields"][1]["type"].update(default="UNKNOWN"))
    result = check(catalogue)
    assert result.exit_code == 1, result.output
    expected = (
        "FAIL hub.dossier.v1.DossierSubmitted: the working copy is not valid Avro: "
        "DossierSubmitted.applicant.kind: enum 'hub.common.v1.PartyKind' has the default 'UNKNOWN', which is "
        "not one of its symbols ['CITIZEN', 'BUSINESS', 'AGENCY', 'OTHER']: an enum default must be a "
        "member of the symbols array"
    )
    assert expected in result.output
    assert "FAIL hub.dossier.v1.DossierReceived: the working copy is not valid Avro" in result.output
    assert "pending" not in result.output
    with pytest.raises(ConfigError, match=r"cannot release: .*PartyKind"):
        lock.release(catalogue)


def test_an_invalid_released_revision_is_named(catalogue: Path) -> None:
    frozen = catalogue / "released" / "hub.dossier.v1.DossierWithdrawn" / "1.avsc"
    edit(
        frozen,
        lambda s: s["fields"].append({"name": "k", "type": {"type": "enum", "name": "K", "symbols": []}}),
    )
    edit(frozen, lambda s: s["fields"][-1]["type"].update(default="A"))
    (problem,) = lock.problems(catalogue)
    assert str(problem).startswith(
        "hub.dossier.v1.DossierWithdrawn: released revision 1 is not valid Avro: DossierWithdrawn.k: enum "
        "'hub.dossier.v1.K' has the default 'A'"
    )


def test_an_invalid_decimal_fails_the_check_though_fastavro_parses_it(catalogue: Path) -> None:
    """The specification says to ignore it; fastavro parses it and then fails reading: the gate refuses."""
    no_precision = {"type": "bytes", "logicalType": "decimal", "scale": 2}
    edit(catalogue / WITHDRAWN, add_field({"name": "fee", "type": ["null", no_precision], "default": None}))
    result = check(catalogue)
    assert result.exit_code == 1, result.output
    assert (
        "FAIL hub.dossier.v1.DossierWithdrawn: the working copy is not valid Avro: DossierWithdrawn.fee: "
        "decimal precision None is not a positive integer"
    ) in result.output
