"""The sealed form of canonical events' personal fields: it round-trips, keeps the record's schema,
names its dossier, and refuses anything altered, moved or opened under another key (hub.event_seal);
and the store's key cache that the pipeline seals with (hub.store.keys.CachedKeys)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import Engine

from hub.audit.personal import PersonalCatalogue
from hub.cli_events import events
from hub.crypto import KeyringError, MasterKeyring
from hub.event_seal import EventSealer, KeysInMemory, event_context, open_value, seal_value, sealed_dossier
from hub.schemas import CATALOGUE
from hub.schemas.registry import Registry
from hub.settings import Settings
from hub.store import metadata
from hub.store.database import StoreUnavailable, make_engine
from hub.store.keys import CachedKeys, DataKeys
from tests.unit.test_key_store import statements

REGISTRY = Registry.load(CATALOGUE)
SEALER = EventSealer(PersonalCatalogue(REGISTRY, {}))
SUBMITTED = "hub.dossier.v1.DossierSubmitted"
CODE = "000.00.30.H30-261130-0001"  # the example's dossier
KEY, OTHER_KEY = os.urandom(32), os.urandom(32)
CONTEXT = event_context(CODE, "hub-1", "applicant.id_number")


def example(record: str) -> dict[str, Any]:
    path = Path(CATALOGUE) / "examples" / record / "full.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_a_value_round_trips_in_a_string_that_names_its_dossier() -> None:
    sealed = seal_value(KEY, CODE, "093187001234", CONTEXT)
    assert sealed.startswith(f"hub-sealed:v1:{CODE}:")
    assert "093187001234" not in sealed
    assert sealed_dossier(sealed) == CODE
    assert open_value(KEY, sealed, CONTEXT) == "093187001234"
    assert seal_value(KEY, CODE, "093187001234", CONTEXT) != sealed  # a fresh nonce each time


def flip(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


@pytest.mark.parametrize(
    "altered",
    [
        pytest.param(lambda s: flip(s, len(s) - 5), id="a tag character changed"),
        pytest.param(lambda s: flip(s, s.rindex(":") + 20), id="a ciphertext character changed"),
        pytest.param(lambda s: s[:-4], id="truncated"),
        pytest.param(lambda s: s + "AAAA", id="extended"),
        pytest.param(lambda s: s[: s.rindex(":") + 1] + "AQ", id="too short"),
    ],
)
def test_tampering_is_detected(altered: Any) -> None:
    sealed = seal_value(KEY, CODE, "Nguyễn Thị Lan", CONTEXT)
    assert open_value(KEY, sealed, CONTEXT) == "Nguyễn Thị Lan"
    with pytest.raises(KeyringError):
        open_value(KEY, altered(sealed), CONTEXT)


def test_a_value_opens_only_with_its_key_at_its_place() -> None:
    sealed = seal_value(KEY, CODE, "0912345678", CONTEXT)
    with pytest.raises(KeyringError, match="does not authenticate"):
        open_value(OTHER_KEY, sealed, CONTEXT)
    for moved in (
        event_context("000.00.30.H30-261130-0002", "hub-1", "applicant.id_number"),  # another dossier
        event_context(CODE, "hub-2", "applicant.id_number"),  # another event
        event_context(CODE, "hub-1", "applicant.phone"),  # another field
    ):
        with pytest.raises(KeyringError, match="does not authenticate"):
            open_value(KEY, sealed, moved)


@pytest.mark.parametrize(
    "text", ["093187001234", "hub-sealed:v1:", "hub-sealed:v1:abc", "hub-sealed:v2:X:AAAA"]
)
def test_a_value_not_in_the_sealed_form_is_refused(text: str) -> None:
    with pytest.raises(KeyringError, match="not a sealed value"):
        open_value(KEY, text, CONTEXT)


def test_an_event_has_every_personal_field_sealed_and_the_rest_untouched() -> None:
    datum = example(SUBMITTED)
    keys = KeysInMemory()
    sealed = SEALER.seal(SUBMITTED, CODE, datum, keys)
    personal = REGISTRY.personal_fields(SUBMITTED)
    assert "applicant.id_number" in personal
    text = json.dumps(sealed, ensure_ascii=False)
    for value in ("Nguyễn Thị Lan", "093187001234", "0912345678", "lan.nguyen@example.vn", "khu vực 4"):
        assert value not in text
    assert sealed["applicant"]["id_number"].startswith(f"hub-sealed:v1:{CODE}:")
    assert sealed["collection_address"]["province"] == datum["collection_address"]["province"]  # not personal
    assert sealed["procedure_name"] == datum["procedure_name"]
    REGISTRY.encode(SUBMITTED, sealed)  # the record's own schema takes the sealed strings
    key = keys.keys[CODE]
    assert key is not None
    assert SEALER.open(SUBMITTED, CODE, sealed, key) == datum


def test_a_forgotten_dossier_s_events_are_sealed_under_a_key_nobody_has() -> None:
    keys = KeysInMemory()
    keys.key_of(CODE)
    kept = keys.keys[CODE]
    keys.forget(CODE)
    sealed = SEALER.seal(SUBMITTED, CODE, example(SUBMITTED), keys)
    assert sealed["applicant"]["name"].startswith("hub-sealed:v1:")
    assert kept is not None
    with pytest.raises(KeyringError):
        SEALER.open(SUBMITTED, CODE, sealed, kept)


def test_free_text_is_sealed_too() -> None:
    assert "reason" in REGISTRY.personal_fields("hub.dossier.v1.DossierWithdrawn")
    assert "content" in REGISTRY.personal_fields("hub.dossier.v1.DossierProgressed")
    assert "reason" in REGISTRY.personal_fields("hub.postal.v1.PostalOrderCancelled")
    assert {"notes", "status_message"} <= REGISTRY.personal_fields("hub.postal.v1.ShipmentStatusChanged")


def field_types(schema: Any, prefix: str = "") -> Iterator[tuple[str, Any, bool]]:
    if isinstance(schema, dict):
        for field in schema.get("fields", ()):
            yield f"{prefix}{field['name']}", field["type"], bool(field.get("x-personal-data"))
            yield from field_types(field["type"], f"{prefix}{field['name']}.")
        if "items" in schema:
            yield from field_types(schema["items"], prefix)
    elif isinstance(schema, list):
        for branch in schema:
            yield from field_types(branch, prefix)


@pytest.mark.parametrize("record", REGISTRY.names())
def test_every_personal_field_of_the_catalogue_is_a_string(record: str) -> None:
    """The sealed form is a string: it fits a personal field only when the field is one."""
    for path, kind, personal in field_types(REGISTRY.current(record).schema):
        if personal:
            assert kind in ("string", ["null", "string"]), f"{record}.{path}: {kind}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/k.sqlite3")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_the_pipeline_s_key_is_stored_before_it_is_used_and_then_cached(engine: Engine) -> None:
    data_keys = DataKeys(MasterKeyring({"m1": KEY}, active="m1"))
    cached = CachedKeys(engine, data_keys, capacity=2)
    key = cached.key_of(CODE)
    with engine.connect() as connection:  # committed: another connection reads it
        assert data_keys.existing(connection, [CODE]) == {CODE: key}
    sent = statements(engine)
    assert cached.key_of(CODE) == key
    assert sent == []  # no round trip for a cached dossier
    cached.key_of("000.00.30.H30-261130-0002")
    cached.key_of("000.00.30.H30-261130-0003")  # the first one leaves the cache: at most 2 kept
    assert cached.key_of(CODE) == key
    assert sent != []


def test_a_forgotten_dossier_has_no_key_for_the_pipeline(engine: Engine) -> None:
    data_keys = DataKeys(MasterKeyring({"m1": KEY}, active="m1"))
    with engine.begin() as connection:
        data_keys.destroy(connection, CODE, datetime.now(UTC))
    assert CachedKeys(engine, data_keys).key_of(CODE) is None


def test_hub_events_open_needs_rabbitmq(tmp_path: Path) -> None:
    settings = Settings(database_url=SecretStr(f"sqlite:///{tmp_path}/hub.sqlite3"))
    result = CliRunner().invoke(events, ["open", "--dossier", CODE], obj=settings)
    assert result.exit_code == 1
    assert "reads hub.events.log on RabbitMQ: set HUB_BROKER_URL" in result.output


def test_a_store_that_cannot_give_a_key_is_a_transient_failure(tmp_path: Path) -> None:
    """The worker waits for the store (TransientError) rather than counting the input as poison."""
    engine = make_engine(f"sqlite:///{tmp_path}/empty.sqlite3")  # no tables: every statement fails
    data_keys = DataKeys(MasterKeyring({"m1": KEY}, active="m1"))
    with pytest.raises(StoreUnavailable, match="the store refused a key: OperationalError"):
        CachedKeys(engine, data_keys).key_of(CODE)
    engine.dispose()
