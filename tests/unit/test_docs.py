"""The generated partner docs: current with the code, complete, and well-formed AsyncAPI 3.0.0.

The AsyncAPI project's own validator runs in scripts/validate-docs (it needs node), not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import Field

import connectors
from connectors.values import ContractModel
from hub import docs
from hub.cli import main
from hub.errors import Reason

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(docs.render()[docs.ASYNCAPI_FILE])
    return parsed


def test_the_committed_docs_are_current(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["docs", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in (docs.ASYNCAPI_FILE, docs.OPENAPI_FILE, docs.PARTNERS_FILE):
        committed = (DOCS / name).read_text(encoding="utf-8")
        assert committed == (tmp_path / name).read_text(encoding="utf-8"), (
            f"docs/{name} is stale: run hub docs"
        )


def test_check_names_the_stale_file_and_fails(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["docs", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(main, ["docs", "--check", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / docs.PARTNERS_FILE).write_text("edited by hand\n", encoding="utf-8")
    result = runner.invoke(main, ["docs", "--check", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert docs.PARTNERS_FILE in result.output
    assert docs.ASYNCAPI_FILE not in result.output


def test_check_without_a_docs_directory_says_so_and_fails(tmp_path: Path) -> None:
    """An installed hub run outside a checkout has no docs/ to compare: not "stale", but nothing there."""
    missing = tmp_path / "docs"
    result = CliRunner().invoke(main, ["docs", "--check", "--out", str(missing)])
    assert result.exit_code == 1
    assert f"no directory {missing} to check" in result.output
    assert not missing.exists()


def test_generation_is_byte_stable() -> None:
    assert docs.render() == docs.render()


def test_the_document_is_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["version"] == "1"


def test_every_ingress_kind_of_every_connector_is_a_message(document: dict[str, Any]) -> None:
    page = docs.render()[docs.PARTNERS_FILE]
    for partner in connectors.partners():
        channel = document["channels"][f"ingress.{partner}"]
        for kind, route in connectors.load(partner).routes.items():
            message = channel["messages"][kind]
            assert message["bindings"]["amqp"]["messageType"] == kind
            assert message["payload"] == {"$ref": f"#/components/schemas/{route.model.__name__}"}
            assert f"#### `{kind}`" in page


def test_every_reason_is_in_the_dead_letter_headers(document: dict[str, Any]) -> None:
    for partner in connectors.partners():
        headers = document["channels"][f"hub.dead.{partner}"]["messages"]["rejected"]["headers"]
        assert headers["properties"]["x-hub-reason"]["enum"] == [str(r) for r in Reason]
    page = docs.render()[docs.PARTNERS_FILE]
    for reason in Reason:
        assert f"| `{reason}` | {docs.reason_meaning(reason)} |" in page


def test_operations_refer_to_their_channels_messages(document: dict[str, Any]) -> None:
    for operation in document["operations"].values():
        channel_id = operation["channel"]["$ref"].removeprefix("#/channels/")
        prefix = f"#/channels/{channel_id}/messages/"
        names = [m["$ref"].removeprefix(prefix) for m in operation["messages"]]
        assert names == list(document["channels"][channel_id]["messages"])


def test_egress_messages_carry_the_hub_headers(document: dict[str, Any]) -> None:
    message = document["channels"]["egress.onestop"]["messages"]["dossier.submitted"]
    assert set(message["headers"]["required"]) == {
        "x-contract-version",
        "x-hub-source-message-id",
        "x-hub-unit",
    }
    assert message["correlationId"]["location"] == "$message.payload#/MaHoSo"


def test_canonical_events_are_avro_messages_on_hub_events() -> None:
    schema = {"type": "record", "name": "Thing", "namespace": "hub.test.v1", "fields": []}
    event = docs.CanonicalEvent("hub.test.v1.Thing", "00ff00ff00ff00ff", schema)
    document = json.loads(docs.render([event])[docs.ASYNCAPI_FILE])
    message = document["channels"]["hub.events"]["messages"]["hub.test.v1.Thing"]
    assert message["payload"] == {"schemaFormat": docs.AVRO_SCHEMA_FORMAT, "schema": schema}
    assert message["headers"]["properties"]["x-hub-schema-fingerprint"]["const"] == "00ff00ff00ff00ff"


class _Person(ContractModel):
    """A model with a personal-data field, as a connector would mark it."""

    hoVaTen: str = Field(json_schema_extra={"x-personal-data": True})  # noqa: N815
    maDonVi: str | None = Field(default=None, json_schema_extra={"x-personal-data": False})  # noqa: N815


def test_personal_data_fields_are_marked() -> None:
    refs, schemas = docs.component_schemas([_Person])
    rows = {r.path: r for r in docs.field_rows(schemas[refs[_Person].rsplit("/", 1)[1]], schemas)}
    assert rows["hoVaTen"].personal
    assert rows["hoVaTen"].required
    assert not rows["maDonVi"].personal
    assert not rows["maDonVi"].required
