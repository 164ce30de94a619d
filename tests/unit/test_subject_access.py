"""``hub audit subject``: what the hub holds about one citizen, exactly that person's and nobody else's,
every personal value opened, a forgotten dossier as erased, and the export recorded in the chain.

Two people file two dossiers each through the embedded hub (one online with collection and result by
post, one at a counter), so the entries and the dossier rows are the ones production writes. Every
personal value of each person is a canary that must not show up in the other's export.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pydantic import SecretStr
from sqlalchemy import select

import hub.cli_audit_integrity  # attaches verify to the audit group
import hub.cli_audit_subject  # noqa: F401  (attaches subject)
from hub import app
from hub.audit.chain import audit_log
from hub.audit.checkpoints import last_checkpoint
from hub.audit.entries import SUBJECT_ACCESS
from hub.audit.query import FORGOTTEN, search_citizen
from hub.cli_audit import REVEAL_WARNING
from hub.crypto import generate_key_text
from hub.envelope import Outbound
from hub.settings import Settings
from tests.helpers import WAIT, running
from tests.unit.test_audit_queries import (
    CANARY_ID,
    CANARY_NAME,
    MAR_2026,
    aged,
    engine_of,
    entry,
    invoke,
    sample_message,
)


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    email: str
    street: str

    @property
    def canaries(self) -> tuple[str, ...]:
        return (self.name, self.id_number, self.phone, self.email, self.street)

    def details(self) -> dict[str, Any]:
        """The personal fields of a filing, each a canary of this person."""
        address = {"hoVaTen": self.name, "soDienThoai": self.phone, "diaChi": self.street}
        return {
            "ChuHoSo": self.name,
            "SoGiayToChuHoSo": self.id_number,
            "SoDienThoai": self.phone,
            "Email": self.email,
            "DiaChiThuongTru": self.street,
            "DiaChiNhanKetQua": {"tinhThanh": "Thành phố Cần Thơ", "xaPhuong": "Phường Vị Thanh", **address},
        }


FIRST = Person("Quokka Canarywhistle", "079305817264", "0961742538", "quokka@example.vn", "Ngõ Quokka 7")
SECOND = Person("Wombat Burrowdeep", "079305817999", "0961000222", "wombat@example.vn", "Hẻm Wombat 9")
FIRST_ONLINE, FIRST_COUNTER = "000.00.30.H30-261129-0101", "000.00.30.H30-261129-0102"
SECOND_ONLINE, SECOND_COUNTER = "000.00.30.H30-261129-0201", "000.00.30.H30-261129-0202"
DOSSIERS = {FIRST: (FIRST_ONLINE, FIRST_COUNTER), SECOND: (SECOND_ONLINE, SECOND_COUNTER)}


def online(person: Person, code: str, message_id: str) -> Outbound:
    details = person.details()
    collect = {**details["DiaChiNhanKetQua"]}
    return sample_message(
        "portal", "dossier.submitted", message_id, MaHoSo=code, DiaChiThuGom=collect, **details
    )


def at_counter(person: Person, code: str, message_id: str) -> Outbound:
    return sample_message("onestop", "dossier.received", message_id, MaHoSo=code, **person.details())


def people_play(settings: Settings, embedded: str) -> None:
    """Both people's dossiers through the embedded hub, then the post collecting the first's paper
    originals (a tracking event on its order)."""
    collected = sample_message(
        "postal", "shipment.status", "post-1", OrderNumber=f"{FIRST_ONLINE}/TG", StatusCode=6, CODAmount=None
    )
    rounds = [
        [
            online(FIRST, FIRST_ONLINE, "p-1"),
            online(SECOND, SECOND_ONLINE, "p-2"),
            at_counter(FIRST, FIRST_COUNTER, "os-1"),
            at_counter(SECOND, SECOND_COUNTER, "os-2"),
        ],
        [collected],
    ]
    hub = app.build(settings, embedded=embedded)
    try:
        with running(hub) as run:
            published = 0
            for messages in rounds:
                hub.transport.publish_confirmed(messages)
                published += len(messages)
                assert run.worker.wait_settled(published, WAIT)
    finally:
        hub.ledger.engine.dispose()


def exported(settings: Settings, person: Person, out: Path) -> tuple[Result, dict[str, Any], str]:
    result = invoke(settings, "subject", "--citizen-id", person.id_number, "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    return result, json.loads(text), text


def access_entries(settings: Settings) -> list[dict[str, Any]]:
    query = select(audit_log).where(audit_log.c.entry == SUBJECT_ACCESS).order_by(audit_log.c.seq)
    with engine_of(settings).connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def by_code(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {dossier["code"]: dossier for dossier in document["dossiers"]}


def assert_verifies(settings: Settings) -> None:
    verified = invoke(settings, "verify")
    assert verified.exit_code == 0, verified.output
    assert "ok: the chain is intact" in verified.stdout


@pytest.fixture
def played(settings: Settings, embedded: str) -> Settings:
    people_play(settings, embedded)
    return settings


def check_subject_access(settings: Settings, tmp_path: Path) -> None:
    """The whole story on ``settings``' database (SQLite here, PostgreSQL in the integration suite)."""
    for person, other in ((FIRST, SECOND), (SECOND, FIRST)):
        out = tmp_path / f"{person.id_number}.json"
        result, document, text = exported(settings, person, out)
        assert set(by_code(document)) == set(DOSSIERS[person])
        assert all(canary in text for canary in person.canaries)
        assert not any(canary in text for canary in other.canaries)
        assert not any(code in text for code in DOSSIERS[other])
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert f"warning: {out} holds personal data" in result.stderr
        assert result.stdout == ""  # nothing personal on the terminal
        entry = access_entries(settings)[-1]
        assert entry["message_id"] == document["export_id"]
        assert entry["body_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
        assert entry["citizen"] == settings.pseudonymizer().pseudonym(person.id_number)
        assert sorted(json.loads(entry["clear"])["dossiers"]) == sorted(DOSSIERS[person])
        assert entry["sealed"] is None
        assert not any(canary in json.dumps(entry, default=str) for canary in person.canaries)

    _, document, _ = exported(settings, FIRST, tmp_path / "first.json")
    by_post = by_code(document)[FIRST_ONLINE]
    record = by_post["record"]
    assert (by_post["erased"], record["status"], record["result_by_post"]) == (False, 1, True)
    assert record["recipient"]["full_name"] == FIRST.name
    assert [order["number"] for order in record["postal_orders"]] == [f"{FIRST_ONLINE}/TG"]
    assert record["postal_orders"][0]["last_code"] == 6
    filed = by_post["trail"][0]
    assert (filed["entry"], filed["partner"], filed["kind"]) == ("in", "portal", "dossier.submitted")
    assert filed["personal"]["SoGiayToChuHoSo"] == FIRST.id_number
    assert filed["payload"]["ChuHoSo"] == FIRST.name  # the trail as `hub audit trail --reveal` shows it
    assert {"onestop", "postal", "events"} <= {item["partner"] for item in by_post["trail"]}
    # A subject access is no data about a dossier: search still lists the dossiers alone.
    found = search_citizen(engine_of(settings), settings.pseudonymizer(), FIRST.id_number)
    assert sorted(hit.dossier or "" for hit in found) == [FIRST_ONLINE, FIRST_COUNTER]
    assert document["entries_without_dossier"] == []

    forgot = invoke(settings, "forget", FIRST_ONLINE)
    assert forgot.exit_code == 0, forgot.output
    _, document, text = exported(settings, FIRST, tmp_path / "after-forget.json")
    erased, kept = by_code(document)[FIRST_ONLINE], by_code(document)[FIRST_COUNTER]
    assert erased["erased"] is True
    assert erased["erased_at"] is not None
    assert erased["record"]["recipient"] is None
    assert all(item["personal"] == {} for item in erased["trail"])
    assert erased["trail"][0]["payload"]["ChuHoSo"] == FORGOTTEN
    assert FIRST.name not in json.dumps(erased, ensure_ascii=False)
    assert kept["erased"] is False
    assert kept["trail"][0]["personal"]["ChuHoSo"] == FIRST.name
    assert access_entries(settings)[-1]["detail"].startswith("2 dossiers (1 erased)")
    assert len(access_entries(settings)) == 4
    assert_verifies(settings)


def test_the_export_holds_the_persons_dossiers_and_values_and_is_recorded(
    played: Settings, tmp_path: Path
) -> None:
    check_subject_access(played, tmp_path)


def test_the_export_to_stdout_warns_and_parses(played: Settings) -> None:
    result = invoke(played, "subject", stdin=f"{SECOND.id_number}\n")  # asked without echo
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == REVEAL_WARNING
    document = json.loads(result.stdout.split("\n", 1)[1])  # after the prompt's line
    assert set(by_code(document)) == {SECOND_ONLINE, SECOND_COUNTER}
    assert document["citizen_id"] == SECOND.id_number


def test_a_citizen_the_hub_does_not_know_gets_an_empty_export_which_is_recorded(
    played: Settings, tmp_path: Path
) -> None:
    _, document, _ = exported(played, Person("x", "079300000001", "", "", ""), tmp_path / "nobody.json")
    assert (document["dossiers"], document["entries_without_dossier"]) == ([], [])
    assert access_entries(played)[-1]["detail"] == "0 dossiers (0 erased), 0 personal values"
    assert_verifies(played)


def test_a_malformed_citizen_id_is_refused_and_nothing_recorded(played: Settings, tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    result = invoke(played, "subject", "--citizen-id", "07930581726x", "--out", str(out))
    assert result.exit_code == 1
    assert "12 digits expected" in result.output
    assert "07930581726x" not in result.output
    assert not out.exists()
    assert access_entries(played) == []


def test_an_existing_file_is_made_private_before_the_export_is_written(
    played: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "old.json"
    out.write_text("stale")
    out.chmod(0o644)
    exported(played, FIRST, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_the_access_entry_is_signed_at_once(played: Settings, tmp_path: Path) -> None:
    exported(played, FIRST, tmp_path / "first.json")
    with engine_of(played).connect() as connection:
        signed = last_checkpoint(connection)
    assert signed is not None
    assert signed.seq == access_entries(played)[-1]["seq"]


def test_without_the_master_keys_nothing_is_exported_left_behind_or_recorded(
    played: Settings, tmp_path: Path
) -> None:
    stranger = played.model_copy(update={"master_keys": {"other": SecretStr(generate_key_text())}})
    out = tmp_path / "refused.json"
    result = invoke(stranger, "subject", "--citizen-id", FIRST.id_number, "--out", str(out))
    assert result.exit_code == 1
    assert "cannot be unwrapped" in result.output
    assert not out.exists()
    assert access_entries(played) == []


def test_entries_naming_the_citizen_without_a_dossier_are_exported_with_their_values(
    settings: Settings, tmp_path: Path
) -> None:
    aged(settings, [entry(None, MAR_2026, "e")])  # the canary's ID and name, no dossier code
    _, document, _ = exported(settings, Person("", CANARY_ID, "", "", ""), tmp_path / "loose.json")
    assert document["dossiers"] == []
    (loose,) = document["entries_without_dossier"]
    assert (loose["personal"], loose["payload"]) == ({"ChuHoSo": CANARY_NAME}, {"ChuHoSo": CANARY_NAME})
    assert access_entries(settings)[-1]["detail"] == "0 dossiers (0 erased), 1 personal values"
    again = invoke(settings, "subject", "--citizen-id", CANARY_ID, "--out", str(tmp_path / "again.json"))
    assert again.exit_code == 0
    assert len(json.loads((tmp_path / "again.json").read_text())["entries_without_dossier"]) == 1
