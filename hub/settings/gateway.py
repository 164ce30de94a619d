"""The HTTP gateway's settings: one nested model, ``Settings.gateway`` (``HUB_GATEWAY__*``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class GatewayPartner(BaseModel):
    """How one partner proves who it is to the gateway: API keys (stored hashed), an HMAC secret, or both."""

    model_config = ConfigDict(extra="forbid")

    api_key_sha256: list[str] = Field(
        default_factory=list,
        description="sha256 hex digests of the partner's API keys (`hub gateway hash-key`); several "
        "during a key's rotation. The keys themselves are never stored",
    )
    hmac_secret: SecretStr | None = Field(
        default=None,
        description="shared secret of HMAC-SHA256 request signatures (headers X-Hub-Partner, "
        "X-Hub-Timestamp, X-Hub-Signature); unset: no signed requests from this partner",
    )

    @field_validator("api_key_sha256")
    @classmethod
    def _digests_are_hex(cls, digests: list[str]) -> list[str]:
        for digest in digests:
            if SHA256_HEX.fullmatch(digest) is None:
                raise ValueError("each entry is 64 lower-case hex digits (`hub gateway hash-key`)")
        return digests


class GatewaySettings(BaseModel):
    """``hub gateway serve``: the HTTP door for partners that cannot speak AMQP."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1, description="address the gateway listens on")
    port: int = Field(default=9410, ge=1, le=65535, description="port the gateway listens on")
    partners: dict[str, GatewayPartner] = Field(
        default_factory=dict,
        description="partner -> its credentials (api_key_sha256, hmac_secret); a partner not listed "
        "cannot use the gateway",
    )
    signature_max_skew_seconds: float = Field(
        default=300.0,
        gt=0,
        description="a signed request whose X-Hub-Timestamp is further from the gateway's clock, "
        "either way, is refused (401)",
    )
    publish_connections: int = Field(
        default=4,
        ge=1,
        le=64,
        description="broker connections per partner publishing with confirms (concurrent requests "
        "wait on their own confirms, not on one another's)",
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="how long messages pulled with GET /v1/messages stay held for their "
        "acknowledgement before they return to the egress queue",
    )
    max_leases: int = Field(
        default=64, ge=1, description="pulls held open at once (all partners); more answer 429"
    )
    max_pull: int = Field(default=100, ge=1, le=1000, description="most messages one pull returns")
    idempotency_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="idempotency keys older than this are forgotten (the hub's own duplicate check "
        "still sees a resent message id)",
    )
    broker_timeout_seconds: float = Field(
        default=5.0, gt=0, description="connect and confirm timeout of the gateway's broker calls"
    )
