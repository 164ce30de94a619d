"""Settings of the portal's HTTP service (DVCQG through NGSP or a provincial LGSP).

Neither path nor code of that service is published: the defaults follow what open-source one-stop-shop
systems show (docs/adapters.md), and every one of them is a setting so that a province can
match its own gateway. The adapter that reads them lives in ``connectors/portal/http.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class PortalHttpSettings(BaseModel):
    """How the hub reaches the portal's integration service (``HUB_PORTAL_HTTP__<NAME>``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        default="", description="the gateway's address (https://lgsp.example.gov.vn); empty: not configured"
    )
    envelope: Literal["session", "proxy"] = Field(
        default="session",
        description="session: log in, then POST integration_path with session, madonvi and service in the "
        "body; proxy: a local proxy without login, POST proxy_sync_path?MaDinhDanhDV=&isUpdating= with "
        "the dossiers as the body (DongBoHoSoMC only)",
    )
    auth_path: str = Field(default="/login", description="login path, appended to base_url")
    integration_path: str = Field(default="/service", description="path of every service call")
    proxy_sync_path: str = Field(
        default="/api/SynsTTHCC/DongBoHoSoMC", description="DongBoHoSoMC's path with the proxy envelope"
    )
    dstcode: str = Field(default="", description="the province's code on the platform (header dstcode)")
    username: str = Field(default="", description="the account the hub logs in with")
    password: SecretStr | None = Field(default=None, description="that account's password")
    default_unit: str = Field(
        default="", description="madonvi when a message names no unit (header x-hub-unit, DonViXuLy)"
    )
    success_codes: list[str] = Field(
        default_factory=lambda: ["0", "00"], description="error_code values meaning success (0 reads '0')"
    )
    exists_codes: list[str] = Field(
        default_factory=lambda: ["3", "-3"], description="error_code values meaning: dossier already exists"
    )
    exists_text: str = Field(
        default="đã tồn tại", description="a message containing it means: the dossier already exists"
    )
    session_expired_codes: list[str] = Field(
        default_factory=list, description="error_code values meaning: log in again (HTTP 401 always does)"
    )
    session_expired_texts: list[str] = Field(
        default_factory=lambda: ["session", "phiên làm việc"],
        description="a message containing one of them (any case) means: log in again",
    )
    progress_chunk_size: int = Field(
        default=10, gt=0, description="CapNhatTienDoHoSoMC records sent in one call, at most"
    )
    sync_service: str = Field(default="DongBoHoSoMC", description="service name: create or update a dossier")
    progress_service: str = Field(default="CapNhatTienDoHoSoMC", description="service name: progress records")
    lookup_service: str = Field(default="TraCuuHoSo", description="service name: look a dossier up")
    connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="to open a connection (an answer's wait: HUB_DELIVERY's timeout_seconds)",
    )
