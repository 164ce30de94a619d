"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands
on its fd 3, answers and events on its fd 4, each a JSON text ended by a NUL byte): open a page, hear
every console message, exception and log entry, measure elements, take a full-page screenshot."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

WIDTH = 1280
# Events that report a problem on the page: thrown exceptions, console calls, the browser's own log
# (a resource that failed to load, a CSS or security complaint).
COMPLAINTS = {"Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded"}


def chromium() -> str:
    """Chromium's path. Missing: the test skips locally and fails under CI=true (scripts/services
    installs Debian's chromium package)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (Debian package chromium, scripts/services)")
        pytest.skip("chromium not installed (Debian package chromium; scripts/services installs it)")
    return found


@dataclass
class Browser:
    process: subprocess.Popen[bytes]
    commands: int  # our end of its fd 3
    answers: int  # our end of its fd 4
    deadline: float  # monotonic: every wait ends by then
    complaints: list[dict[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    _buffer: bytes = b""
    _next_id: int = 0

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                result: dict[str, Any] = answer["result"]
                return result

    def problems(self) -> list[str]:
        """What the page complained about, one line each."""
        return [_described(complaint["method"], complaint["params"]) for complaint in self.complaints]

    def wait_for(self, event: str) -> None:
        while event not in self.events:
            self._receive()

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            readable, _, _ = select.select([self.answers], [], [], max(left, 0))
            assert readable, "chromium did not answer in time"
            chunk = os.read(self.answers, 1 << 16)
            assert chunk, f"chromium closed the pipe (exit code {self.process.poll()})"
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(text)
        if "method" in message:
            self.events.append(message["method"])
            if message["method"] in COMPLAINTS:
                self.complaints.append(message)
        return message


def _described(method: str, params: dict[str, Any]) -> str:
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return f"exception: {details.get('exception', {}).get('description', details['text'])}"
    if method == "Runtime.consoleAPICalled":
        return f"console.{params['type']}: {[arg.get('value') for arg in params['args']]}"
    entry = params["entry"]
    return f"log {entry['level']} ({entry['source']}): {entry['text']} {entry.get('url', '')}"


@contextlib.contextmanager
def browser(timeout: float) -> Iterator[Browser]:
    """A headless Chromium for ``timeout`` seconds at most, with a profile of its own (no lock shared
    with another browser on the machine), killed on the way out."""
    profile = tempfile.mkdtemp(prefix="hub-chromium-")
    to_chromium, commands = os.pipe()
    answers, from_chromium = os.pipe()
    # bash puts the pipes on fds 3 and 4, where --remote-debugging-pipe expects them.
    process = subprocess.Popen(
        [
            "bash",
            "-c",
            'exec "$0" --headless --disable-gpu --no-sandbox --remote-debugging-pipe '
            '--no-first-run --hide-scrollbars --user-data-dir="$3" about:blank 3<&"$1" 4>&"$2"',
            chromium(),
            str(to_chromium),
            str(from_chromium),
            profile,
        ],
        pass_fds=(to_chromium, from_chromium),
        start_new_session=True,  # its renderers and helpers in a process group of their own
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_chromium)
    os.close(from_chromium)
    try:
        yield Browser(process, commands, answers, time.monotonic() + timeout)
    finally:
        _stop(process)
        os.close(commands)
        os.close(answers)
        shutil.rmtree(profile, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ask Chromium to quit, then end what is left of its process group."""
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def open_page(chrome: Browser, page: Path) -> str:
    """Open ``page`` in a new tab listening to every complaint; the tab's session once it has loaded."""
    target = chrome.call("Target.createTarget", url="about:blank")["targetId"]
    session = str(chrome.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])
    for domain in ("Page", "Runtime", "Log"):
        chrome.call(f"{domain}.enable", session)
    chrome.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=WIDTH,
        height=1000,
        deviceScaleFactor=1,
        mobile=False,
    )
    chrome.call("Page.navigate", session, url=page.resolve().as_uri())
    chrome.wait_for("Page.loadEventFired")
    return session


def evaluate(chrome: Browser, session: str, expression: str) -> Any:
    """The value of a JavaScript expression in the page (JSON-able)."""
    answer = chrome.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
    assert "exceptionDetails" not in answer, answer["exceptionDetails"]
    return answer["result"]["value"]


def screenshot(chrome: Browser, session: str, out: Path) -> Path:
    """The whole page, top to bottom, as a PNG at ``out``."""
    height = int(evaluate(chrome, session, "document.documentElement.scrollHeight"))
    chrome.call(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=WIDTH,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    data = chrome.call("Page.captureScreenshot", session, format="png")["data"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(data))
    return out
