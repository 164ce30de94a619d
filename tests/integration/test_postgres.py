"""The ledger and the dossier store on the real PostgreSQL, in a database made for the test."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, select

import connectors
from hub import app
from hub.bus.ingress import ingress_message
from hub.envelope import Outbound
from hub.settings import Settings
from hub.store.dossiers import dossier_steps
from tests.conftest import sample_agencies
from tests.helpers import WAIT, running

SAMPLES = Path(connectors.__file__).parent / "samples"


def onestop(kind: str, message_id: str, **changes: object) -> Outbound:
    body = {**json.loads((SAMPLES / f"onestop.{kind}.json").read_text(encoding="utf-8")), **changes}
    raw = json.dumps(body, ensure_ascii=False).encode()
    return ingress_message("onestop", kind, raw, message_id=message_id, user_id="guest", timestamp=1)


def test_dossier_steps_commit_with_the_ledger_on_postgresql(
    postgres_url: str, settings: Settings, embedded: str
) -> None:
    on_postgres = settings.model_copy(
        update={
            "database_url": SecretStr(postgres_url),
            "agencies": sample_agencies(),
        }
    )
    hub = app.build(on_postgres, embedded=embedded)
    with running(hub) as run:
        run.hub.transport.publish_confirmed(
            [
                onestop("dossier.received", "os-1"),
                onestop("dossier.progress", "os-2"),
                onestop("dossier.progress", "os-3", TrangThaiHoSo=9, ThoiDiemXuLy="20261201090000"),
                onestop("dossier.progress", "os-4", TrangThaiHoSo=2, ThoiDiemXuLy="20261202090000"),
            ]
        )
        assert run.worker.wait_settled(4, WAIT)
    dossier = hub.work.dossiers.load("000.00.30.H30-261129-0002")
    assert dossier is not None
    assert (dossier.initial_status, dossier.status, len(dossier.steps)) == (2, 9, 2)
    assert hub.ledger.count() == 4
    reasons = {(t.kind, t.reason) for t in hub.ledger.tally() if t.outcome == "dead_lettered"}
    assert reasons == {("dossier.progress", "invalid_transition")}
    with hub.ledger.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(dossier_steps)).scalar_one() == 2
