"""How the delivery runner treats one HTTP partner: the setting ``delivery`` (one ``DeliveryPolicy``
per partner, ``default`` for every partner not listed).

A partner's entry overrides only the keys it sets; the others come from ``default``:
``{"default": {"timeout_seconds": 20}, "postal": {"concurrency": 2}}`` gives the post a 20 s timeout
and two calls at a time.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

DEFAULT = "default"  # the key of the policy every partner not listed gets


class DeliveryPolicy(BaseModel):
    """Limits and failure behaviour of the calls to one partner (hub.delivery.runner)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="one HTTP call's timeout (the adapter's client)"
    )
    concurrency: int = Field(
        default=4, ge=1, le=64, description="calls in flight at once (for different dossiers)"
    )
    rate_per_second: float | None = Field(
        default=10.0,
        gt=0,
        description="calls started per second at most (a token bucket holding one second's worth); "
        "null: no limit",
    )
    retry_base_seconds: float = Field(
        default=1.0,
        gt=0,
        description="first delay before a dossier's call is retried after the partner "
        "was unavailable; doubled per failure, with jitter",
    )
    retry_max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="longest retry delay (a partner's Retry-After is honoured up to an hour)",
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="consecutive failed calls that open the partner's circuit breaker"
    )
    breaker_cooldown_seconds: float = Field(
        default=30.0,
        gt=0,
        description="how long an open breaker waits before its probe (adapter.probe) may close it",
    )
    prefetch: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="egress messages held (taken, not yet acknowledged) at most",
    )


def policy_for(delivery: Mapping[str, DeliveryPolicy], partner: str) -> DeliveryPolicy:
    """``partner``'s policy: its entry's keys over ``default``'s over the built-in defaults."""
    base = delivery.get(DEFAULT, DeliveryPolicy())
    own = delivery.get(partner)
    if own is None:
        return base
    return base.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})
