"""Which broker and database failures are refusals (the deployment must change: exit with one line
naming the setting) and which pass (retried)."""

from __future__ import annotations

import pytest
from amqp.exceptions import AccessRefused, NotAllowed
from click.testing import CliRunner
from pika.adapters.utils.connection_workflow import (
    AMQPConnectionWorkflowFailed,
    AMQPConnectorAMQPHandshakeError,
    AMQPConnectorSocketConnectError,
)
from pika.exceptions import (
    ChannelClosedByBroker,
    ConnectionClosedByBroker,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
    StreamLostError,
)
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from hub.bus.failures import broker_errors, refusal
from hub.bus.pika_session import broker_replies
from hub.bus.urls import parse_broker_url
from hub.cli import main
from hub.errors import BrokerRefused, TransientError
from hub.exits import Exit
from hub.store.database import store_refusal

ADDRESS = parse_broker_url("amqp://hub:s3cret@rabbit-1:5672,rabbit-2:5672/prod")

BROKER = {
    (403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."): "refused the login",
    (
        403,
        "ACCESS_REFUSED - access to queue 'q' in vhost 'prod' refused for user 'hub'",
    ): "lacks a permission",
    (530, "NOT_ALLOWED - vhost prod not found"): "vhost 'prod' does not exist",
    (530, "NOT_ALLOWED - access to vhost 'prod' refused for user 'hub'"): "has no rights on vhost 'prod'",
    (
        530,
        "NOT_ALLOWED - access to vhost 'prod' refused for user 'hub': connection limit (5) is reached",
    ): None,
    (530, "NOT_ALLOWED - access to vhost 'prod' refused for user 'hub': vhost 'prod' is down"): None,
    (530, "NOT_ALLOWED - vhost prod is down"): None,
    (320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"): None,
    (404, "NOT_FOUND - no queue 'hub.ingress.portal' in vhost 'prod'"): None,
}


@pytest.mark.parametrize(("code", "text"), BROKER)
def test_broker_replies_that_no_retry_can_change_are_refusals(code: int, text: str) -> None:
    rule = BROKER[(code, text)]
    refused = refusal(ADDRESS, code, text)
    if rule is None:
        assert refused is None
        return
    assert refused is not None
    line = str(refused)
    assert line.startswith("HUB_BROKER_URL (amqp://hub:****@rabbit-1:5672,rabbit-2:5672/prod): ")
    assert rule in line
    assert "s3cret" not in line
    assert "\n" not in line
    assert refused.exit_code == Exit.BROKER_REFUSED


def test_kombu_refusals_become_broker_refused_and_the_rest_transient() -> None:
    with pytest.raises(BrokerRefused, match="vhost 'prod' does not exist"), broker_errors("x", ADDRESS):
        raise NotAllowed("NOT_ALLOWED - vhost prod not found", (10, 40), reply_code=530)
    with pytest.raises(BrokerRefused, match="refused the login"), broker_errors("x", ADDRESS):
        raise AccessRefused("ACCESS_REFUSED - Login was refused", reply_code=403)
    with pytest.raises(TransientError, match="ConnectionRefusedError"), broker_errors("x", ADDRESS):
        raise ConnectionRefusedError(111, "Connection refused")


def _closed(code: int, text: str) -> ConnectionClosedByBroker:
    return ConnectionClosedByBroker(code, text)


def test_pika_refusals_are_read_from_every_host_it_tried() -> None:
    vhost_refused = ProbableAccessDeniedError(
        repr(_closed(530, "NOT_ALLOWED - access to vhost 'prod' refused"))
    )
    failed = AMQPConnectionWorkflowFailed(
        [
            AMQPConnectorSocketConnectError(ConnectionRefusedError(111, "Connection refused")),
            AMQPConnectorAMQPHandshakeError(vhost_refused),
        ]
    )
    assert list(broker_replies(failed)) == [(530, "NOT_ALLOWED - access to vhost 'prod' refused")]
    login = AMQPConnectorAMQPHandshakeError(ProbableAuthenticationError(repr(_closed(403, "ACCESS_REFUSED"))))
    assert list(broker_replies(login)) == [(403, "ACCESS_REFUSED")]
    assert list(broker_replies(ChannelClosedByBroker(403, "ACCESS_REFUSED - q"))) == [
        (403, "ACCESS_REFUSED - q")
    ]


def test_a_connection_lost_while_logging_in_is_not_a_refusal() -> None:
    # pika calls it a probable authentication error, but the broker said nothing: it may be restarting
    lost = ProbableAuthenticationError(repr(StreamLostError("Transport indicated EOF")))
    assert list(broker_replies(AMQPConnectorAMQPHandshakeError(lost))) == []


ENGINE = create_engine("postgresql+psycopg://hub:db-s3cret@db.example:5432/hub")

DATABASE = {
    'connection failed: FATAL:  database "hub" does not exist': "the database does not exist",
    'FATAL:  password authentication failed for user "hub"': "refused the login",
    'FATAL:  role "hub" does not exist': "refused the login",
    'FATAL:  no pg_hba.conf entry for host "10.0.0.5", user "hub", database "hub"': "refused the login",
    "fe_sendauth: no password supplied": "refused the login",
    "unable to open database file": "SQLite file cannot be opened",
    "connection failed: Connection refused\n\tIs the server running on that host?": None,
    "FATAL:  the database system is starting up": None,
    "FATAL:  terminating connection due to administrator command": None,
    'relation "message_log" does not exist': None,
    "FATAL:  sorry, too many clients already": None,
}


@pytest.mark.parametrize("said", DATABASE)
def test_database_answers_that_no_retry_can_change_are_refusals(said: str) -> None:
    refused = store_refusal(OperationalError(None, None, Exception(said)), ENGINE)
    rule = DATABASE[said]
    if rule is None:
        assert refused is None
        return
    assert refused is not None
    line = str(refused)
    assert line.startswith("HUB_DATABASE_URL (postgresql+psycopg://hub:***@db.example:5432/hub): ")
    assert rule in line
    assert "db-s3cret" not in line
    assert "\n" not in line
    assert refused.exit_code == Exit.STORE_REFUSED


def test_a_wrong_setting_ends_any_command_with_the_configuration_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_PREFETCH", "many")
    result = CliRunner().invoke(main, ["config", "show"])
    assert result.exit_code == Exit.CONFIG
    assert result.output.strip().splitlines() == [
        "Error: HUB_PREFETCH: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_hub_run_without_a_broker_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == Exit.CONFIG
    assert "HUB_BROKER_URL" in result.output
