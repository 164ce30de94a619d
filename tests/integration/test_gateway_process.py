"""``hub gateway serve`` as a real process: it answers over HTTP and stops with exit 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from hub.gateway.auth import hash_key
from tests.waiting import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> int:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return 0


def test_serves_until_sigterm_then_exits_0(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("HUB_")}
    environment |= {
        "HUB_BROKER_URL": "amqp://portal@127.0.0.1:5672/%2F",  # connected only when a request needs it
        "HUB_BROKER_PASSWORDS": json.dumps({"portal": "not-used-here"}),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        "HUB_GATEWAY__PORT": str(port),
        "HUB_GATEWAY__PARTNERS": json.dumps({"portal": {"api_key_sha256": [hash_key("k" * 20)]}}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "gateway", "serve"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        eventually(lambda: answers(f"{base}/healthz"), lambda code: code == 200, 20, "the gateway to listen")
        refused = httpx.post(f"{base}/v1/messages/dossier.submitted", headers={"X-Api-Key": "wrong"})
        assert refused.status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    assert "gateway stopped" in stderr
    assert "Traceback" not in stderr
