"""The portal's HTTP adapter against the fake portal over real HTTP on 127.0.0.1: login with
dstcode, one re-login when the session expired, create-then-update, progress in chunks, and every
failure mapped onto the runner's two errors without a credential or a citizen's value in sight."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.fake_http import serving
from connectors.portal.fake_server import FakePortalServer
from connectors.portal.fake_state import PortalState
from connectors.portal.http import PortalAdapter, build_adapter
from hub.delivery.contract import EgressMessage, PartnerRefused, PartnerUnavailable
from hub.envelope import Outbound
from hub.errors import ConfigError
from hub.settings import Settings, describe
from hub.settings.portal_http import PortalHttpSettings
from hub.settings_template import is_secret
from tests.connectors.harness import InMemoryHub, sample

DSTCODE = "H30"
PASSWORD = "s3cret-Portal-pw"
UNIT = "000.00.30.H30"
CODE = "000.00.30.H30-261129-0002"
CITIZEN = "Nguyễn Thị Lan"
PHONE = "0912345678"


def dossier(code: str = CODE) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "MaTTHC": "1.001776",
        "TenTTHC": "Đăng ký khai sinh",
        "ChuHoSo": CITIZEN,
        "LoaiDoiTuong": 1,
        "SoDienThoai": PHONE,
        "Email": "lan.nguyen@example.vn",
        "NgayTiepNhan": "20261129091000",
        "NgayHenTra": "20261204170000",
        "TrangThaiHoSo": 2,
        "HinhThuc": 1,
        "KenhThucHien": 1,
        "DonViXuLy": UNIT,
    }


def step(n: int, code: str = CODE) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "NguoiXuLy": "Trần Văn Bình",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": f"202611291{n:05d}",
        "PhongBanXuLy": "Phòng Tư pháp",
        "NoiDungXuLy": f"Bước {n}",
        "TrangThai": 4,
        "NgayBatDau": "20261129091000",
    }


def message(kind: str, payload: dict[str, Any], n: int = 0) -> EgressMessage:
    body = json.dumps(payload).encode()
    return EgressMessage(f"m-{kind}-{n}", kind, payload["MaHoSo"], body, payload)


def sync(code: str = CODE) -> EgressMessage:
    return message("DongBoHoSoMC", dossier(code))


def progress(n: int, code: str = CODE) -> EgressMessage:
    return message("CapNhatTienDoHoSoMC", step(n, code), n)


@pytest.fixture
def fake() -> Iterator[tuple[FakePortalServer, str]]:
    server = FakePortalServer(PortalState(dstcode=DSTCODE, accounts={"hub": PASSWORD}))
    with serving(server.app) as url:
        yield server, url


def settings_for(url: str, **changes: Any) -> PortalHttpSettings:
    values: dict[str, Any] = {
        "base_url": url,
        "dstcode": DSTCODE,
        "username": "hub",
        "password": SecretStr(PASSWORD),
    }
    return PortalHttpSettings(**{**values, **changes})


@pytest.fixture
def adapter(fake: tuple[FakePortalServer, str]) -> Iterator[PortalAdapter]:
    portal = PortalAdapter(settings_for(fake[1]), timeout_seconds=2.0)
    yield portal
    portal.close()


def logins(server: FakePortalServer) -> list[Any]:
    return [r for r in server.state.received() if r.path == "/login"]


def calls(server: FakePortalServer, service: str | None = None) -> list[Any]:
    return [r for r in server.state.received() if r.path == "/service" and service in (None, r.service)]


def actions(server: FakePortalServer) -> list[tuple[str, str]]:
    return [(a.action, a.dossier) for a in server.state.applied()]


def test_it_logs_in_with_dstcode_and_calls_with_the_session_and_the_dossiers_unit(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.deliver([sync()])
    [login] = logins(server)
    [call] = calls(server)
    assert login.dstcode == DSTCODE
    assert login.body == {"username": "hub"}
    assert call.dstcode == DSTCODE
    assert call.body["session"]
    assert call.body["madonvi"] == UNIT
    assert call.body["service"] == "DongBoHoSoMC"
    assert call.body["isUpdating"] is False
    assert call.body["data"] == [dossier()]
    assert actions(server) == [("create", CODE)]


def test_an_expired_session_costs_one_login_and_the_call_is_made_again(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.deliver([sync()])
    server.state.expire_sessions()
    adapter.deliver([progress(1)])
    assert len(logins(server)) == 2
    first, again = calls(server, "CapNhatTienDoHoSoMC")
    assert first.body["session"] != again.body["session"]
    assert actions(server) == [("create", CODE), ("progress", CODE)]


def test_a_session_refused_right_after_login_is_unavailable_after_one_login_more(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.state.expire_sessions_after(0)
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([sync()])
    assert raised.value.reason == "session_expired"
    assert len(logins(server)) == 2
    assert len(calls(server)) == 2
    assert actions(server) == []


def test_a_wrong_password_is_unavailable_after_one_login_and_never_shows_the_password(
    fake: tuple[FakePortalServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, url = fake
    portal = PortalAdapter(settings_for(url, password=SecretStr("wrong-" + PASSWORD)))
    with caplog.at_level(logging.DEBUG), pytest.raises(PartnerUnavailable) as raised:
        portal.deliver([sync()])
    portal.close()
    assert raised.value.reason == "login_refused"
    assert len(logins(server)) == 1
    assert calls(server) == []
    assert PASSWORD not in caplog.text
    assert PASSWORD not in str(raised.value)


def test_a_wrong_dstcode_is_unavailable_not_refused(fake: tuple[FakePortalServer, str]) -> None:
    portal = PortalAdapter(settings_for(fake[1], dstcode="H99"))
    with pytest.raises(PartnerUnavailable) as raised:
        portal.probe()
    portal.close()
    assert raised.value.reason == "login_http_403"


def test_a_dossier_that_already_exists_is_updated_so_a_redelivery_applies_once_as_each(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.deliver([sync()])
    adapter.deliver([sync()])
    assert [c.body["isUpdating"] for c in calls(server)] == [False, False, True]
    assert actions(server) == [("create", CODE), ("update", CODE)]


def test_progress_goes_in_chunks_of_at_most_ten_in_order_and_a_sync_goes_alone(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    pending = [sync(), *(progress(n) for n in range(1, 24))]
    groups = adapter.groups(pending)
    assert [len(g) for g in groups] == [1, 10, 10, 3]
    assert [m for g in groups for m in g] == pending
    for group in groups:
        adapter.deliver(group)
    assert [len(c.body["data"]) for c in calls(server, "CapNhatTienDoHoSoMC")] == [10, 10, 3]
    assert server.state.progress(CODE) == [step(n) for n in range(1, 24)]


def test_groups_keep_order_around_a_sync_and_honour_the_chunk_setting(
    fake: tuple[FakePortalServer, str],
) -> None:
    portal = PortalAdapter(settings_for(fake[1], progress_chunk_size=2))
    pending = [progress(1), progress(2), progress(3), sync(), progress(4)]
    assert [[m.message_id for m in g] for g in portal.groups(pending)] == [
        ["m-CapNhatTienDoHoSoMC-1", "m-CapNhatTienDoHoSoMC-2"],
        ["m-CapNhatTienDoHoSoMC-3"],
        ["m-DongBoHoSoMC-0"],
        ["m-CapNhatTienDoHoSoMC-4"],
    ]
    portal.close()


@pytest.mark.parametrize("status", [500, 503])
def test_a_burst_of_server_errors_is_unavailable_and_nothing_is_applied_twice(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter, status: int
) -> None:
    server, _ = fake
    adapter.probe()
    server.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(PartnerUnavailable) as raised:
            adapter.deliver([sync()])
        assert raised.value.reason == f"http_{status}"
    adapter.deliver([sync()])
    assert actions(server) == [("create", CODE)]


def test_a_503_carries_the_partners_retry_after(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.fail_next(1, 503, retry_after="30")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.probe()
    assert raised.value.reason == "http_503"
    assert raised.value.retry_after == 30.0


def test_too_many_requests_carries_the_partners_retry_after(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.throttle_next(1, retry_after="7")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([progress(1)])
    assert raised.value.reason == "http_429"
    assert raised.value.retry_after == 7.0


def test_no_answer_is_a_timeout(fake: tuple[FakePortalServer, str]) -> None:
    server, url = fake
    portal = PortalAdapter(settings_for(url), timeout_seconds=0.5)
    portal.probe()
    server.hang_next(1)
    with pytest.raises(PartnerUnavailable) as raised:
        portal.deliver([sync()])
    portal.close()
    assert raised.value.reason == "timeout"
    assert server.state.applied() == []


def test_a_slow_answer_within_the_timeout_is_accepted(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.slow(0.05)
    adapter.deliver([sync()])
    assert actions(server) == [("create", CODE)]


def test_a_malformed_answer_is_unavailable(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.probe()
    server.malformed_next(1)
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([sync()])
    assert raised.value.reason == "malformed_answer"


def test_a_data_error_is_refused_with_a_detail_free_of_the_citizens_values(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = fake
    server.state.refuse(CODE)
    with caplog.at_level(logging.DEBUG), pytest.raises(PartnerRefused) as raised:
        adapter.deliver([sync()])
    assert raised.value.code == "error_code=-1"
    assert "Dữ liệu không hợp lệ" in raised.value.detail
    shown = f"{raised.value} {caplog.text}"
    for value in (CITIZEN, PHONE, PASSWORD):
        assert value not in shown
    assert server.state.applied() == []


def test_a_progress_data_error_hides_the_handlers_name(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.state.refuse(CODE)
    with pytest.raises(PartnerRefused) as raised:
        adapter.deliver([progress(1)])
    assert "Trần Văn Bình" not in str(raised.value)


def test_a_refused_dossier_is_applied_once_the_portal_accepts_it_again(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.state.refuse(CODE)
    with pytest.raises(PartnerRefused):
        adapter.deliver([sync()])
    server.state.accept(CODE)
    adapter.deliver([sync()])
    assert actions(server) == [("create", CODE)]


def test_lookup_finds_a_synced_dossier_and_nothing_for_an_unknown_one(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    adapter.deliver([sync()])
    assert [found["MaHoSo"] for found in adapter.lookup(CODE)] == [CODE]
    assert adapter.lookup("000.00.30.H30-261129-9999") == []


def test_the_proxy_envelope_sends_the_dossiers_with_unit_and_flag_in_the_query(
    fake: tuple[FakePortalServer, str],
) -> None:
    server, url = fake
    portal = PortalAdapter(settings_for(url, envelope="proxy"))
    portal.deliver([sync()])
    portal.deliver([sync()])
    with pytest.raises(PartnerRefused) as raised:
        portal.deliver([progress(1)])
    portal.close()
    assert raised.value.code == "unsupported_service"
    assert [dict(r.query) for r in server.state.received()] == [
        {"MaDinhDanhDV": UNIT, "isUpdating": "False"},
        {"MaDinhDanhDV": UNIT, "isUpdating": "False"},
        {"MaDinhDanhDV": UNIT, "isUpdating": "True"},
    ]
    assert logins(server) == []
    assert actions(server) == [("create", CODE), ("update", CODE)]


def test_build_adapter_needs_an_address_and_credentials(fake: tuple[FakePortalServer, str]) -> None:
    with pytest.raises(ConfigError):
        build_adapter(Settings())
    with pytest.raises(ConfigError):
        build_adapter(Settings(portal_http=PortalHttpSettings(base_url=fake[1])))
    portal = build_adapter(Settings(portal_http=settings_for(fake[1])))
    assert portal.partner == "portal"
    portal.probe()
    portal.close()


def test_the_password_is_masked_where_settings_are_shown() -> None:
    shown = json.dumps(describe(Settings(portal_http=settings_for("http://127.0.0.1:9"))))
    assert PASSWORD not in shown
    assert '"password": "**********"' in shown


def test_sessions_that_expire_after_two_calls_are_renewed_and_nothing_is_applied_twice(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    server.state.expire_sessions_after(2)
    for n in range(1, 6):
        adapter.deliver([progress(n)])
    assert len(logins(server)) == 3
    assert server.state.progress(CODE) == [step(n) for n in range(1, 6)]


def test_an_http_401_is_an_expired_session(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.probe()
    server.fail_next(1, status=401)
    adapter.deliver([sync()])
    assert len(logins(server)) == 2
    assert actions(server) == [("create", CODE)]


def test_threads_that_find_the_session_expired_log_in_once_between_them(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    server, _ = fake
    adapter.probe()
    server.state.expire_sessions()
    codes = [f"000.00.30.H30-261129-{n:04d}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda code: adapter.deliver([sync(code)]), codes))
    assert len(logins(server)) == 2
    assert sorted(actions(server)) == [("create", code) for code in codes]


def test_the_fake_refuses_a_dossier_without_its_required_fields(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter
) -> None:
    incomplete = {key: value for key, value in dossier().items() if key != "MaTTHC"}
    with pytest.raises(PartnerRefused) as raised:
        adapter.deliver([message("DongBoHoSoMC", incomplete)])
    assert "MaTTHC" in raised.value.detail
    assert fake[0].state.applied() == []


def test_a_kind_the_portal_has_no_service_for_is_refused(adapter: PortalAdapter) -> None:
    with pytest.raises(PartnerRefused) as raised:
        adapter.deliver([message("order.create", {"MaHoSo": CODE})])
    assert raised.value.code == "unknown_kind"


def test_the_fake_forgets_its_oldest_records_beyond_its_capacity() -> None:
    state = PortalState(capacity=3)
    for n in range(5):
        state.sync([dossier(f"000.00.30.H30-261129-{n:04d}")], updating=False)
    assert [a.dossier[-1] for a in state.applied()] == ["2", "3", "4"]
    assert state.dossier(f"000.00.30.H30-261129-{0:04d}") is None


def test_the_settings_template_marks_the_portal_group_as_secret() -> None:
    assert is_secret(Settings.model_fields["portal_http"].annotation)


def test_an_http_401_through_the_proxy_is_unavailable_not_refused(fake: tuple[FakePortalServer, str]) -> None:
    server, url = fake
    portal = PortalAdapter(settings_for(url, envelope="proxy"))
    server.fail_next(1, status=401)
    with pytest.raises(PartnerUnavailable) as raised:
        portal.deliver([sync()])
    portal.close()
    assert raised.value.reason == "session_expired"
    assert len(server.state.received()) == 1


def test_what_the_hub_sends_for_a_counter_filing_is_what_the_portal_accepts(
    fake: tuple[FakePortalServer, str], adapter: PortalAdapter, settings: Settings
) -> None:
    server, _ = fake
    outcome = InMemoryHub(settings).send("onestop", "dossier.received", sample("onestop.dossier.received"))
    pending = [taken_off(o) for o in outcome.outputs if o.exchange == "egress.portal"]
    assert [m.kind for m in pending] == ["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    for group in adapter.groups(pending):
        adapter.deliver(group)
    code = pending[0].dossier
    assert actions(server) == [("create", code), ("progress", code)]
    assert calls(server)[0].body["madonvi"] == pending[0].payload["DonViXuLy"]


def taken_off(published: Outbound) -> EgressMessage:
    """An egress message as the runner hands it over after taking it off the queue."""
    properties = published.properties
    payload = json.loads(published.body)
    return EgressMessage(
        str(properties.message_id),
        published.routing_key,
        str(properties.correlation_id),
        published.body,
        payload,
    )
