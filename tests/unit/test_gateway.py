"""The HTTP gateway's answers on fakes of the broker and a SQLite store: checks, auth, keys, leases."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import update
from starlette.testclient import TestClient

from hub.cli import main
from hub.gateway import auth
from hub.gateway.app import application
from hub.gateway.core import Gateway
from hub.gateway.idempotency import IdempotencyKeys
from hub.gateway.problems import PROBLEM_JSON
from hub.store.partner_state import gateway_requests
from tests.clock import FakeClock
from tests.gateway_parts import (
    KEY,
    OTHER_KEY,
    SECRET,
    FakePublisher,
    FakeReader,
    assemble,
    client,
    egress_delivery,
    posting_headers,
    sqlite_engine,
)

CITIZEN = "Nguyễn Văn Canary 079199001234"
BODY = json.dumps({"MaHoSo": "000.00.30.H30-261201-0001", "HoTen": CITIZEN}, ensure_ascii=False).encode()
URL = "/v1/messages/dossier.submitted"


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def reader() -> FakeReader:
    return FakeReader([egress_delivery(n) for n in range(3)])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.monotonic())


@pytest.fixture
def gateway(tmp_path: Path, publisher: FakePublisher, reader: FakeReader, clock: FakeClock) -> Gateway:
    return assemble(
        sqlite_engine(tmp_path),
        {"portal": publisher, "onestop": FakePublisher()},
        {"portal": reader},
        clock=clock,
    )


@pytest.fixture
def http(gateway: Gateway) -> Iterator[TestClient]:
    yield from client(gateway)


def problem(response: httpx.Response, status: int, rule: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["rule"] == rule
    assert str(body["type"]).endswith(rule)
    assert {"title", "detail"} <= set(body)
    assert "Canary" not in response.text
    assert "079199001234" not in response.text
    return body


def test_a_good_key_publishes_once_with_the_contract_properties(
    http: TestClient, publisher: FakePublisher
) -> None:
    response = http.post(URL, content=BODY, headers=posting_headers())
    assert response.status_code == 202
    assert response.json() == {"message_id": "order-1", "kind": "dossier.submitted", "published": True}
    (sent,) = publisher.sent
    assert (sent.exchange, sent.routing_key, sent.body) == ("ingress.portal", "dossier.submitted", BODY)
    p = sent.properties
    assert (p.message_id, p.type, p.user_id, p.content_type, p.delivery_mode) == (
        "order-1",
        "dossier.submitted",
        "portal",
        "application/json",
        2,
    )
    assert p.headers == {"x-contract-version": "1"}
    assert abs(int(p.timestamp or 0) - time.time()) < 5


def test_x_api_key_works_as_well_as_bearer(http: TestClient, publisher: FakePublisher) -> None:
    headers = posting_headers() | {"X-Api-Key": KEY}
    del headers["Authorization"]
    assert http.post(URL, content=BODY, headers=headers).status_code == 202


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Basic {KEY}"},
        {"X-Api-Key": ""},
    ],
)
def test_missing_or_bad_credentials_are_401(
    http: TestClient, publisher: FakePublisher, headers: dict[str, str]
) -> None:
    base = {"Idempotency-Key": "k", "Content-Type": "application/json"}
    response = http.post(URL, content=BODY, headers=base | headers)
    problem(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert not publisher.sent


def signed_headers(body: bytes, stamp: int, secret: str = SECRET, partner: str = "portal") -> dict[str, str]:
    return {
        "X-Hub-Partner": partner,
        "X-Hub-Timestamp": str(stamp),
        "X-Hub-Signature": auth.sign(secret, str(stamp), "POST", URL, body),
        "Idempotency-Key": "signed-1",
        "Content-Type": "application/json",
    }


def test_a_good_signature_publishes(http: TestClient, publisher: FakePublisher) -> None:
    response = http.post(URL, content=BODY, headers=signed_headers(BODY, int(time.time())))
    assert response.status_code == 202
    assert len(publisher.sent) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("wrong_secret", "x-hub-signature"),
        ("other_body", "x-hub-signature"),
        ("stale", "x-hub-timestamp"),
        ("ahead", "x-hub-timestamp"),
        ("unknown_partner", "x-hub-partner"),
        ("partner_without_secret", "x-hub-partner"),
    ],
)
def test_bad_or_stale_signatures_are_401(
    http: TestClient, publisher: FakePublisher, change: str, field: str
) -> None:
    now = int(time.time())
    stamp = {"stale": now - 301, "ahead": now + 301}.get(change, now)
    secret = "other" if change == "wrong_secret" else SECRET
    partner = {"unknown_partner": "nobody", "partner_without_secret": "onestop"}.get(change, "portal")
    headers = signed_headers(BODY, stamp, secret, partner)
    body = BODY + b" " if change == "other_body" else BODY
    assert problem(http.post(URL, content=body, headers=headers), 401, "unauthenticated")["field"] == field
    assert not publisher.sent


def test_a_kind_the_partner_may_not_publish_is_403(http: TestClient, publisher: FakePublisher) -> None:
    response = http.post("/v1/messages/dossier.status", content=BODY, headers=posting_headers())
    assert problem(response, 403, "kind_not_allowed")["field"] == "kind"
    assert not publisher.sent


def test_too_large_is_413_by_length_or_by_stream(http: TestClient, publisher: FakePublisher) -> None:
    big = b'{"x": "' + b"a" * 5000 + b'"}'
    problem(http.post(URL, content=big, headers=posting_headers()), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield big[:3000]
        yield big[3000:]

    problem(http.post(URL, content=chunks(), headers=posting_headers()), 413, "too_large")
    assert not publisher.sent


def test_a_body_not_declared_json_is_415(http: TestClient) -> None:
    headers = posting_headers() | {"Content-Type": "text/plain"}
    problem(http.post(URL, content=BODY, headers=headers), 415, "content_type")


@pytest.mark.parametrize(
    ("body", "key", "rule", "field"),
    [
        (b'{"HoTen": "Canary \xff"}', "k1", "invalid_utf8", "body"),
        ('{"HoTen": "Nguyễn Văn Canary 079199001234"'.encode(), "k2", "malformed_json", "body"),
        (BODY, None, "idempotency_key", "Idempotency-Key"),
        (BODY, "", "idempotency_key", "Idempotency-Key"),
        (BODY, "x" * 129, "idempotency_key", "Idempotency-Key"),
        (BODY, "tab\there", "idempotency_key", "Idempotency-Key"),
    ],
)
def test_unprocessable_bodies_and_keys_are_422(  # noqa: PLR0917  (parametrized)
    http: TestClient, publisher: FakePublisher, body: bytes, key: str | None, rule: str, field: str
) -> None:
    headers = posting_headers()
    if key is None:
        del headers["Idempotency-Key"]
    else:
        headers["Idempotency-Key"] = key
    assert problem(http.post(URL, content=body, headers=headers), 422, rule)["field"] == field
    assert not publisher.sent


def test_the_same_key_and_body_again_is_202_without_a_second_publish(
    http: TestClient, publisher: FakePublisher
) -> None:
    assert http.post(URL, content=BODY, headers=posting_headers()).status_code == 202
    again = http.post(URL, content=BODY, headers=posting_headers())
    assert again.status_code == 202
    assert again.json()["published"] is False
    assert "not published again" in again.json()["detail"]
    assert len(publisher.sent) == 1


def test_the_same_key_with_another_body_is_409(http: TestClient, publisher: FakePublisher) -> None:
    assert http.post(URL, content=BODY, headers=posting_headers()).status_code == 202
    other = BODY.replace(b"0001", b"0002")
    assert problem(http.post(URL, content=other, headers=posting_headers()), 409, "idempotency_key_reused")
    assert len(publisher.sent) == 1


def test_keys_are_per_partner(http: TestClient, gateway: Gateway) -> None:
    """Another partner may use the same key for its own message."""
    assert http.post(URL, content=BODY, headers=posting_headers()).status_code == 202
    headers = posting_headers(api_key=OTHER_KEY)
    assert http.post("/v1/messages/dossier.status", content=b"{}", headers=headers).status_code == 202


def test_a_broker_down_is_503_with_retry_after_and_nothing_recorded(
    http: TestClient, publisher: FakePublisher
) -> None:
    publisher.down = True
    response = http.post(URL, content=BODY, headers=posting_headers())
    problem(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) > 0
    publisher.down = False  # the key was not recorded: the retry publishes
    assert http.post(URL, content=BODY, headers=posting_headers()).json()["published"] is True
    assert len(publisher.sent) == 1


def test_a_bug_is_a_counted_500_logged_without_the_values(
    http: TestClient, publisher: FakePublisher, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(message: object) -> None:
        raise KeyError(CITIZEN)

    publisher.publish = failing  # type: ignore[method-assign]
    problem(http.post(URL, content=BODY, headers=posting_headers()), 500, "internal")
    assert 'route="post_message",status_class="5xx"} 1.0' in http.get("/metrics").text
    assert "post_message failed: KeyError" in caplog.text
    assert "Canary" not in caplog.text


def auth_only() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def test_pull_then_ack_takes_messages_off_for_good(http: TestClient, reader: FakeReader) -> None:
    pulled = http.get("/v1/messages?limit=2", headers=auth_only()).json()["messages"]
    assert [m["message_id"] for m in pulled] == [f"hub-{n:032x}" for n in range(2)]
    assert pulled[0]["kind"] == "DongBoHoSoMC"
    assert pulled[0]["body"] == {"MaHoSo": "000.00.30.H30-261201-0000"}
    assert pulled[0]["headers"] == {"a": 1}
    ids = [m["id"] for m in pulled]
    answer = http.post("/v1/messages/ack", json={"ids": [*ids, "nope.1"]}, headers=auth_only()).json()
    assert answer == {"acknowledged": ids, "unknown": ["nope.1"]}
    assert len(reader.acked) == 2
    assert not reader.held
    assert len(reader.ready) == 1


def test_pulled_messages_not_acknowledged_return_after_the_lease(
    http: TestClient, reader: FakeReader, gateway: Gateway, clock: FakeClock
) -> None:
    pulled = http.get("/v1/messages?limit=3", headers=auth_only()).json()["messages"]
    assert len(pulled) == 3
    assert not reader.ready
    clock.now += 31
    assert gateway.leases.expire() == 1
    assert len(reader.ready) == 3
    assert not reader.held
    late = http.post("/v1/messages/ack", json={"ids": [pulled[0]["id"]]}, headers=auth_only()).json()
    assert late == {"acknowledged": [], "unknown": [pulled[0]["id"]]}


def test_another_partner_cannot_ack_a_lease(http: TestClient, reader: FakeReader) -> None:
    pulled = http.get("/v1/messages?limit=1", headers=auth_only()).json()["messages"]
    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    answer = http.post("/v1/messages/ack", json={"ids": [pulled[0]["id"]]}, headers=other).json()
    assert answer["acknowledged"] == []
    assert len(reader.held) == 1


def test_leases_are_bounded(tmp_path: Path) -> None:
    reader = FakeReader([egress_delivery(n) for n in range(5)])
    gateway = assemble(sqlite_engine(tmp_path), {"portal": FakePublisher()}, {"portal": reader}, max_leases=2)
    with TestClient(application(gateway)) as http:
        for _ in range(2):
            assert http.get("/v1/messages?limit=1", headers=auth_only()).status_code == 200
        response = http.get("/v1/messages?limit=1", headers=auth_only())
    problem(response, 429, "too_many_leases")
    assert len(reader.held) == 2


@pytest.mark.parametrize("limit", ["0", "51", "x"])
def test_a_bad_limit_is_422(http: TestClient, limit: str) -> None:
    problem(http.get(f"/v1/messages?limit={limit}", headers=auth_only()), 422, "limit")


def test_metrics_count_by_route_and_status_class_with_no_values(http: TestClient) -> None:
    http.post(URL, content=BODY, headers=posting_headers())
    http.post(URL, content=BODY, headers=posting_headers() | {"Content-Type": "text/plain"})
    http.post(URL, content=BODY.replace(b"0001", b"9"), headers=posting_headers())
    text = http.get("/metrics").text
    assert 'hub_gateway_requests_total{route="post_message",status_class="2xx"} 1.0' in text
    assert 'hub_gateway_requests_total{route="post_message",status_class="4xx"} 2.0' in text
    assert 'hub_gateway_published_total{partner="portal"} 1.0' in text
    assert 'hub_gateway_conflicts_total{partner="portal"} 1.0' in text
    assert "dossier.submitted" not in text
    assert "order-1" not in text


def test_health_and_readiness(http: TestClient) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").text == "ready\n"


def test_unknown_routes_are_problems(http: TestClient) -> None:
    problem(http.get("/v2/anything"), 404, "not_found")


def test_keys_past_their_retention_are_forgotten(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    keys = IdempotencyKeys(engine)
    keys.record("portal", "old", "dossier.submitted", "a" * 64)
    with engine.begin() as connection:
        connection.execute(update(gateway_requests).values(accepted_at=datetime.now(UTC) - timedelta(days=8)))
    keys.record("portal", "new", "dossier.submitted", "b" * 64)
    assert keys.forget_older(timedelta(days=7)) == 1
    assert keys.digest_of("portal", "old") is None
    assert keys.digest_of("portal", "new") == "b" * 64


def test_hash_key_reads_stdin_and_new_prints_a_key_with_its_hash() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["gateway", "hash-key"], input=f"{KEY}\n").output.strip() == auth.hash_key(KEY)
    made = runner.invoke(main, ["gateway", "hash-key", "--new"]).output.splitlines()
    assert made[1] == auth.hash_key(made[0].rsplit(" ", 1)[1])


def test_a_signed_pull_and_ack(http: TestClient, reader: FakeReader) -> None:
    def signed(method: str, target: str, body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        return {
            "X-Hub-Partner": "portal",
            "X-Hub-Timestamp": stamp,
            "X-Hub-Signature": auth.sign(SECRET, stamp, method, target, body),
        }

    pulled = http.get("/v1/messages?limit=1", headers=signed("GET", "/v1/messages?limit=1", b""))
    (message,) = pulled.json()["messages"]
    wrong_target = signed("GET", "/v1/messages?limit=2", b"")
    problem(http.get("/v1/messages?limit=1", headers=wrong_target), 401, "unauthenticated")
    body = json.dumps({"ids": [message["id"]]}).encode()
    headers = signed("POST", "/v1/messages/ack", body) | {"Content-Type": "application/json"}
    assert http.post("/v1/messages/ack", content=body, headers=headers).json()["acknowledged"] == [
        message["id"]
    ]
    assert len(reader.acked) == 1
