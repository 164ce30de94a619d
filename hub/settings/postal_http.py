"""Settings of Vietnam Post's BCCI HTTP API (``connectors.postal.http``) and of its tracking poller.

Defined here, not in the connector, because ``hub.settings`` may not import ``connectors``. No path,
header or code of the API is published: each is a setting, with the defaults that public
integrations show (a WSO2-style gateway behind NGSP or a province's LGSP).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class PostalHttpSettings(BaseModel):
    """How the hub reaches the post's HTTP API (``HUB_POSTAL_HTTP__<NAME>``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        default="http://127.0.0.1:8280",
        pattern=r"^https?://\S+[^/]$",
        description="the gateway (NGSP, or the province's LGSP) in front of the post's API, no trailing /",
    )
    token_path: str = Field(default="/token", description="OAuth2 client-credentials token endpoint")
    order_path: str = Field(default="/vnpost/order/create", description="creates an order (POST, JSON)")
    cancel_path: str = Field(
        default="/vnpost/order/cancel", description="cancels an order (?CustomerCode=&OrderNumber=)"
    )
    tracking_path: str = Field(
        default="/vnpost/tracking", description="tracking documents as HAL pages (?pagesize=&lastId=)"
    )
    consumer_key: SecretStr = Field(default=SecretStr(""), description="the gateway's consumer key")
    consumer_secret: SecretStr = Field(default=SecretStr(""), description="the gateway's consumer secret")
    token_header: Literal["authorization", "access_token"] = Field(
        default="authorization",
        description="authorization: 'Authorization: <token_type> <token>'; access_token: the bare token "
        "in an access_token header (a provincial LGSP variant)",
    )
    success_statuses: list[str] = Field(default=["100"], description="answer Status values meaning done")
    existing_statuses: list[str] = Field(
        default=["101"], description="answer Status values meaning 'the order already exists': success too"
    )
    timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="longest wait for one tracking page (orders and cancels: HUB_DELIVERY's timeout_seconds)",
    )
    connect_timeout_seconds: float = Field(default=5.0, gt=0, description="longest wait to connect")
    refresh_margin_seconds: float = Field(
        default=60.0, ge=0, description="renew the token this long before its expires_in runs out"
    )
    poll_interval_seconds: float = Field(
        default=60.0, gt=0, description="`hub poll postal`: pause between two sweeps of the tracking feed"
    )
    poll_page_size: int = Field(default=100, ge=1, le=1000, description="tracking documents per page")

    def url(self, path: str) -> str:
        return self.base_url + path
