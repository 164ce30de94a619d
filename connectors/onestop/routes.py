"""The one-stop-shop system's ingress kinds and the canonical events they become."""

from __future__ import annotations

from typing import Any

from connectors.onestop import mapping
from connectors.onestop.models import DossierProgress, DossierReceived, ResultReady
from hub.connector import Route

ROUTES: dict[str, Route[Any]] = {
    "dossier.received": Route("dossier.received", DossierReceived, mapping.dossier_received),
    "dossier.progress": Route("dossier.progress", DossierProgress, mapping.dossier_progress),
    "result.ready": Route("result.ready", ResultReady, mapping.result_ready),
}
