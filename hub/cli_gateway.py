"""``hub gateway``: serve the HTTP gateway, and hash a partner's API key for its settings."""

from __future__ import annotations

import logging
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

import connectors
from hub.gateway.assemble import build, served
from hub.gateway.auth import hash_key
from hub.settings import Settings
from hub.store.database import make_engine, opening_failure
from hub.store.migrate import upgrade

log = logging.getLogger("hub.gateway")


def ingress_kinds() -> dict[str, frozenset[str]]:
    """Partner -> the kinds its connector accepts on its ingress: what the gateway lets it post."""
    return {partner: frozenset(connectors.load(partner).routes) for partner in connectors.partners()}


class _Server(uvicorn.Server):
    """uvicorn, stopping gracefully on SIGTERM and SIGINT without raising the signal again afterwards
    (uvicorn does, so the process would die of it): like ``hub run``, a stop asked for exits 0."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGTERM, signal.SIGINT)
        previous = {stop: signal.signal(stop, self.handle_exit) for stop in stops}
        try:
            yield
        finally:
            for stop, handler in previous.items():
                signal.signal(stop, handler)


def listening_socket(host: str, port: int) -> socket.socket:
    """The gateway's socket, with TCP_NODELAY, which Linux hands on to each accepted connection:
    uvicorn writes an answer's head and body separately, and Nagle's algorithm held the body back
    until the client's delayed ACK, about 40 ms per request."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@click.group()
def gateway() -> None:
    """The HTTP gateway for partners that cannot speak AMQP (docs/adapters.md)."""


@gateway.command("serve")
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Serve the gateway on HUB_GATEWAY__HOST:HUB_GATEWAY__PORT until SIGTERM or SIGINT.

    On a stop it finishes the requests under way, returns every pulled message not acknowledged to
    its queue, and exits 0.
    """
    settings: Settings = ctx.obj
    engine = _migrated(make_engine(settings.database_url.get_secret_value()))
    parts = build(settings, ingress_kinds(), engine)
    options = settings.gateway
    log.info(
        "gateway on %s:%d for %s", options.host, options.port, ", ".join(sorted(parts.gateway.allowed_kinds))
    )
    config = uvicorn.Config(
        served(parts),
        host=options.host,
        port=options.port,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    _Server(config).run()
    log.info("gateway stopped")


def _migrated(engine: Engine) -> Engine:
    """The store brought to the newest revision (its gateway_requests table), as `hub run` does; a
    store that refuses or does not answer ends the command with one line naming HUB_DATABASE_URL."""
    try:
        upgrade(engine)
    except DBAPIError as error:
        raise opening_failure(error, engine) from None
    return engine


@gateway.command("hash-key")
@click.option("--new", is_flag=True, help="make a new random key and print it with its hash")
def hash_key_command(new: bool) -> None:
    """Print the sha256 hex of an API key read from stdin (kept off the command line), for
    HUB_GATEWAY__PARTNERS' api_key_sha256; with --new, a new key first."""
    if new:
        key = secrets.token_urlsafe(32)
        click.echo(f"key (give it to the partner, store it nowhere else): {key}")
    else:
        key = sys.stdin.readline().strip()
        if not key:
            raise click.UsageError('pipe the key on stdin, e.g. `printf %s "$KEY" | hub gateway hash-key`')
    click.echo(hash_key(key))
