"""``hub poll``: pull the feeds of partners that publish nothing themselves (Vietnam Post's tracking
documents), and publish them to the partner's ingress as the partner's broker user."""

from __future__ import annotations

import logging

import click

from connectors.postal.tracking import TrackingFeed
from hub.health import HealthServer, SweepHealth
from hub.polling import sweep
from hub.polling.as_partner import partner_transport
from hub.polling.cursors import CursorStore
from hub.settings import Settings
from hub.signals import stop_on_signals
from hub.store.migrate import migrated_engine


@click.group()
def poll() -> None:
    """Pull a partner's feed into its ingress (cursor in the store, publishes confirmed)."""


@poll.command("postal")
@click.option("--once", is_flag=True, help="one sweep to the last page, then exit (a cron job, a test)")
@click.pass_context
def poll_postal(ctx: click.Context, once: bool) -> None:
    """Publish Vietnam Post's tracking documents of the hub's orders as shipment.status messages:
    every poll_interval_seconds until SIGTERM, or once. Metrics on HUB_METRICS_PORT, if set."""
    settings: Settings = ctx.obj
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request at INFO, every sweep
    transport = partner_transport(settings, "postal")
    with migrated_engine(settings.database_url.get_secret_value()) as engine:
        feed = TrackingFeed(settings.postal_http, engine, transport.user)
        ctx.call_on_close(feed.close)
        cursors = CursorStore(engine)
        if once:
            _once(feed, transport.publish_confirmed, cursors)
            return
        _loop(settings, feed, transport.publish_confirmed, cursors)


def _once(feed: TrackingFeed, publish: sweep.Publish, cursors: CursorStore) -> None:
    try:
        swept = sweep.sweep(feed, publish, cursors)
    except sweep.SWEEP_FAILURES as error:
        reason = sweep.counted_failure(feed.name, error)
        raise click.ClickException(f"polling {feed.name} failed ({reason}); the cursor stays") from None
    click.echo(f"{feed.name}: {swept.pages} pages, {swept.published} published, {swept.skipped} skipped")


def _loop(settings: Settings, feed: TrackingFeed, publish: sweep.Publish, cursors: CursorStore) -> None:
    stop = stop_on_signals()
    health = SweepHealth(stop)
    server = None
    if settings.metrics_port is not None:
        server = HealthServer(health, settings.metrics_host, settings.metrics_port)
    try:
        sweep.run(feed, publish, cursors, settings.postal_http.poll_interval_seconds, stop, health=health)
    finally:
        if server is not None:
            server.stop()
        health.close()
    click.echo(f"{feed.name}: stopped")
