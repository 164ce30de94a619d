"""``hub deliver PARTNER``: the delivery runner (hub.delivery.runner) for a partner that speaks HTTP.

The partner's adapter comes from ``connectors.<partner>.http``, whose ``build_adapter(settings)``
returns it (hub.delivery.contract.Adapter): this entry point is the one place that names the
connectors' HTTP modules, so hub.delivery never imports a connector.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence

import click

import connectors
from hub import app
from hub.audit.entries import AuditEntry
from hub.bus.egress_channel import EgressChannel
from hub.bus.topology import egress_dead_letter_exchange, egress_queue
from hub.delivery.contract import Adapter
from hub.delivery.runner import Runner
from hub.errors import ConfigError
from hub.health import Health, HealthServer, StoreProbe
from hub.settings import Settings
from hub.signals import stop_on_signals

log = logging.getLogger("hub")


def build_adapter(partner: str, settings: Settings) -> Adapter:
    """``connectors.<partner>.http.build_adapter(settings)``; a ``ConfigError`` saying why not."""
    connectors.load(partner)  # an unknown partner: the closest known name
    name = f"connectors.{partner}.http"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise ConfigError(
            f"partner {partner!r} has no HTTP adapter ({name}): it reads its egress over AMQP"
        ) from None
    build = getattr(module, "build_adapter", None)
    if build is None:
        raise ConfigError(f"{name} has no build_adapter(settings)")
    adapter: Adapter = build(settings)
    return adapter


@click.command("deliver")
@click.argument("partner")
@click.option("--once", is_flag=True, help="stop when the egress queue is empty and nothing is held")
@click.pass_context
def deliver(ctx: click.Context, partner: str, once: bool) -> None:
    """Deliver PARTNER's egress queue to its HTTP service until SIGTERM or SIGINT (then finish the
    calls in flight and exit 0). Limits, retries and the breaker: the setting delivery (HUB_DELIVERY);
    what the partner refuses goes to hub.dead.egress.PARTNER (`hub dead-letters show --egress`)."""

    settings: Settings = ctx.obj
    address = settings.broker_address()
    if address is None:
        raise ConfigError("hub deliver needs a broker: set HUB_BROKER_URL=amqp://...")
    adapter = build_adapter(partner, settings)
    policy = settings.delivery_policy(partner)
    store = app.open_store(settings.database_url.get_secret_value(), settings)
    stop = stop_on_signals()
    health = Health(stop)
    ctx.call_on_close(health.close)
    if settings.metrics_port is not None:
        ctx.call_on_close(HealthServer(health, settings.metrics_host, settings.metrics_port).stop)
    health.watch_store(StoreProbe.of(store.engine).start())

    def audit(entries: Sequence[AuditEntry]) -> None:
        store.record((), (), entries)

    def connect() -> EgressChannel:
        dead = egress_dead_letter_exchange(partner)
        return EgressChannel(address, egress_queue(partner), policy.prefetch, partner, [dead])

    runner = Runner(adapter, connect, policy, audit, health=health)
    runner.run(stop, until_empty=once)
    store.checkpoint()
    log.info("%s: stopped after settling %d egress messages", partner, runner.acknowledged)
