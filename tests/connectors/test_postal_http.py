"""The BCCI adapter against the fake post over real HTTP on 127.0.0.1: tokens, orders, cancels, and
each failure mapped onto the runner's two errors, with nothing personal or secret in what it says."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.fake_http import serving
from connectors.postal.fake_server import PostOffice, app
from connectors.postal.http import PostalAdapter, build_adapter
from hub.delivery.contract import EgressMessage, PartnerRefused, PartnerUnavailable
from hub.delivery.oauth import ClientCredentials
from hub.settings import Settings
from hub.settings.postal_http import PostalHttpSettings

PHONE, NAME, ADDRESS = "0912345678", "Nguyễn Thị Hoa", "Số 12 đường Lê Lợi"


@pytest.fixture
def office() -> PostOffice:
    return PostOffice(hang_seconds=2.0)


@pytest.fixture
def base_url(office: PostOffice) -> Iterator[str]:
    with serving(app(office)) as url:
        yield url
        office.close()  # a hung call answers now, so the server stops at once


def settings_for(base_url: str, office: PostOffice, **changes: Any) -> PostalHttpSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "consumer_key": SecretStr(office.consumer_key),
        "consumer_secret": SecretStr(office.consumer_secret),
        "timeout_seconds": 0.5,
        "refresh_margin_seconds": 30.0,
    }
    return PostalHttpSettings(**(values | changes))


@pytest.fixture
def adapter(base_url: str, office: PostOffice) -> Iterator[PostalAdapter]:
    adapter = PostalAdapter(settings_for(base_url, office))
    yield adapter
    adapter.close()


def order(number: str = "000.00.30.H30-261201-0001/KQ", phone: str = PHONE) -> EgressMessage:
    payload = {
        "CustomerCode": "HUB-SAMPLE",
        "OrderNumber": number,
        "Service": "BCCI_TRA_KQ",
        "SenderName": "UBND phường Vị Thanh",
        "SenderAddress": "Số 1 đường Trần Hưng Đạo",
        "SenderPhone": "0293387001",
        "ReceiverName": NAME,
        "ReceiverAddress": ADDRESS,
        "ReceiverPhone": phone,
        "ReceiverProvince": "Thành phố Cần Thơ",
        "ReceiverCommune": "Phường Vị Thanh",
        "CODAmount": 50000,
        "Description": "Trả kết quả giải quyết thủ tục hành chính",
    }
    return _message("order.create", number, payload)


def cancel(number: str) -> EgressMessage:
    payload = {"CustomerCode": "HUB-SAMPLE", "OrderNumber": number, "LyDo": "Công dân rút hồ sơ"}
    return _message("order.cancel", number, payload)


def _message(kind: str, number: str, payload: dict[str, Any]) -> EgressMessage:
    body = json.dumps(payload).encode()
    return EgressMessage(f"{kind}-{number}", kind, number.split("/", maxsplit=1)[0], body, payload)


def test_build_adapter_reads_the_settings_and_serves_postal(base_url: str, office: PostOffice) -> None:
    adapter = build_adapter(Settings(postal_http=settings_for(base_url, office)))
    try:
        adapter.probe()
        assert adapter.partner == "postal"
        messages = [order("A-261201-0001/KQ"), cancel("A-261201-0001/KQ")]
        assert adapter.groups(messages) == [[messages[0]], [messages[1]]]
    finally:
        adapter.close()
    expected = base64.b64encode(b"hub-consumer:hub-secret").decode()
    assert [call.authorization for call in office.calls("token")] == [f"Basic {expected}"]


def test_an_order_is_sent_in_the_api_field_names_with_the_token(
    adapter: PostalAdapter, office: PostOffice
) -> None:
    adapter.deliver([order()])
    (call,) = office.applied("order")
    assert call.body == {
        "CustomerCode": "HUB-SAMPLE",
        "OrderNumber": "000.00.30.H30-261201-0001/KQ",
        "CODAmount": 50000,
        "SenderName": "UBND phường Vị Thanh",
        "SenderAddress": "Số 1 đường Trần Hưng Đạo",
        "SenderTel": "0293387001",
        "ReceiverName": NAME,
        "ReceiverAddress": ADDRESS,
        "ReceiverTel": PHONE,
        "ReceiverProvince": "Thành phố Cần Thơ",
        "ReceiverDistrict": "Phường Vị Thanh",
        "Description": "Trả kết quả giải quyết thủ tục hành chính",
    }
    (token_call,) = office.calls("token")
    assert token_call.body == {"grant_type": "client_credentials"}
    assert call.authorization is not None
    assert call.authorization.startswith("Bearer ")


def test_the_token_is_reused_until_its_margin(
    base_url: str, office: PostOffice, adapter: PostalAdapter
) -> None:
    adapter.deliver([order("A-261201-0001/KQ")])
    adapter.deliver([order("A-261201-0002/KQ")])
    assert len(office.calls("token")) == 1
    tokens = {call.authorization for call in office.calls("order")}
    assert len(tokens) == 1
    # A token whose lifetime is all margin is renewed before every call.
    office.token_lifetime = 30.0
    renewing = PostalAdapter(settings_for(base_url, office, refresh_margin_seconds=30.0))
    try:
        renewing.deliver([order("A-261201-0003/KQ")])
        renewing.deliver([order("A-261201-0004/KQ")])
    finally:
        renewing.close()
    assert len(office.calls("token")) == 3
    assert len({call.authorization for call in office.calls("order")}) == 3


def test_an_expired_token_is_renewed_once_and_the_call_repeated(
    adapter: PostalAdapter, office: PostOffice
) -> None:
    adapter.deliver([order("A-261201-0001/KQ")])
    office.expire_tokens()
    adapter.deliver([order("A-261201-0002/KQ")])
    assert len(office.calls("token")) == 2
    assert [call.status for call in office.calls("order")] == [200, 401, 200]
    assert len(office.applied("order")) == 2


def test_a_fresh_token_refused_too_is_unavailable_after_one_renewal(
    adapter: PostalAdapter, office: PostOffice
) -> None:
    office.fail(401, times=5, endpoint="order")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([order()])
    assert raised.value.reason == "unauthorized"
    assert len(office.calls("token")) == 2
    assert len(office.calls("order")) == 2


def test_wrong_credentials_are_unavailable_not_refused(base_url: str, office: PostOffice) -> None:
    adapter = PostalAdapter(settings_for(base_url, office, consumer_secret=SecretStr("wrong")))
    try:
        with pytest.raises(PartnerUnavailable) as raised:
            adapter.probe()
    finally:
        adapter.close()
    assert raised.value.reason == "token_unauthorized"
    assert "wrong" not in str(raised.value)


def test_an_order_delivered_again_is_created_once_and_101_is_success(
    adapter: PostalAdapter, office: PostOffice
) -> None:
    adapter.deliver([order()])
    adapter.deliver([order()])
    assert len(office.orders) == 1
    assert len(office.applied("order")) == 1
    assert [call.status for call in office.calls("order")] == [200, 200]


def test_a_cancel_names_the_order_in_the_query(adapter: PostalAdapter, office: PostOffice) -> None:
    number = "000.00.30.H30-261201-0001/TG"
    adapter.deliver([order(number)])
    adapter.deliver([cancel(number)])
    (call,) = office.applied("cancel")
    assert call.query == {"CustomerCode": "HUB-SAMPLE", "OrderNumber": number}
    assert office.cancelled == {number}


@pytest.mark.parametrize("status", [500, 503, 502])
def test_server_errors_are_unavailable(adapter: PostalAdapter, office: PostOffice, status: int) -> None:
    office.fail(status, endpoint="order")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([order()])
    assert raised.value.reason == f"http_{status}"
    assert office.orders == {}
    adapter.deliver([order()])  # the burst is over
    assert len(office.applied("order")) == 1


def test_429_is_unavailable_with_its_retry_after(adapter: PostalAdapter, office: PostOffice) -> None:
    office.fail(429, retry_after="7", endpoint="order")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([order()])
    assert (raised.value.reason, raised.value.retry_after) == ("http_429", 7.0)


def test_a_hung_call_times_out_as_unavailable(adapter: PostalAdapter, office: PostOffice) -> None:
    office.hang(endpoint="order")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([order()])
    assert raised.value.reason == "timeout"


def test_a_slow_answer_within_the_timeout_succeeds(adapter: PostalAdapter, office: PostOffice) -> None:
    office.slow(0.1, endpoint="order")
    adapter.deliver([order()])
    assert len(office.applied("order")) == 1


def test_a_malformed_answer_is_unavailable(adapter: PostalAdapter, office: PostOffice) -> None:
    office.malformed(endpoint="order")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.deliver([order()])
    assert raised.value.reason == "malformed_answer"


def test_a_status_text_can_be_a_success_status(base_url: str, office: PostOffice) -> None:
    adapter = PostalAdapter(settings_for(base_url, office, success_statuses=["Thành công"]))
    office.refuse("Thành công", "Đã tạo đơn")  # a deployment that answers 200 with a status text
    try:
        adapter.deliver([order()])
    finally:
        adapter.close()
    assert [call.status for call in office.calls("order")] == [200]


def test_a_malformed_token_answer_is_unavailable(adapter: PostalAdapter, office: PostOffice) -> None:
    office.malformed(endpoint="token")
    with pytest.raises(PartnerUnavailable) as raised:
        adapter.probe()
    assert raised.value.reason == "malformed_token"


def test_a_refusal_names_the_status_and_no_personal_value(
    adapter: PostalAdapter, office: PostOffice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PartnerRefused) as raised:
        adapter.deliver([order(phone="0999")])  # the fake echoes the phone it refuses
    assert raised.value.code == "Status=103"
    assert "0999" not in raised.value.detail
    assert "không hợp lệ" in raised.value.detail
    office.refuse("104", f"Người nhận {NAME} tại {ADDRESS}, ĐT {PHONE} không phục vụ")
    with pytest.raises(PartnerRefused) as refused:
        adapter.deliver([order()])
    assert refused.value.code == "Status=104"
    said = str(refused.value) + caplog.text
    for value in (NAME, ADDRESS, PHONE, "hub-secret", *office.issued):
        assert value not in said


def test_the_lgsp_variant_sends_the_bare_token_in_its_own_header(base_url: str, office: PostOffice) -> None:
    adapter = PostalAdapter(settings_for(base_url, office, token_header="access_token"))
    try:
        adapter.deliver([order()])
    finally:
        adapter.close()
    (call,) = office.applied("order")
    assert call.authorization is None
    assert call.access_token is not None
    assert call.access_token in office.issued


def test_an_unknown_kind_is_refused(adapter: PostalAdapter) -> None:
    with pytest.raises(PartnerRefused) as raised:
        adapter.deliver([_message("order.update", "A-261201-0001/KQ", {})])
    assert raised.value.code == "unknown_kind"


def test_a_token_is_renewed_at_its_margin_before_expires_in(base_url: str, office: PostOffice) -> None:
    office.token_lifetime = 100.0
    now = [1000.0]
    with httpx.Client() as client:
        tokens = ClientCredentials(
            client,
            f"{base_url}/token",
            SecretStr(office.consumer_key),
            SecretStr(office.consumer_secret),
            margin_seconds=10.0,
            clock=lambda: now[0],
        )
        first = tokens.current()
        now[0] = 1089.9
        assert tokens.current() is first
        now[0] = 1090.0
        assert tokens.current() is not first
    assert len(office.calls("token")) == 2


def test_calls_that_meet_one_expiry_together_renew_the_token_once(
    adapter: PostalAdapter, office: PostOffice
) -> None:
    adapter.deliver([order("A-261201-0000/KQ")])
    office.expire_tokens()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(adapter.deliver, [[order(f"A-261201-000{n}/KQ")] for n in range(1, 9)]))
    assert len(office.calls("token")) == 2
    assert len(office.applied("order")) == 9
