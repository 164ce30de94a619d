"""ops/docker/: the Dockerfile agrees with its install script and the settings model, and the image's
health check tells a live hub from a dead one. (No Docker engine here: the install script itself runs
in tests/ops/test_wheel_install.py.)"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.proxy import closed_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "ops/docker"
IMAGE_PORT = "9400"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (words[0].upper(), words[1].strip() if len(words) > 1 else "")
        for words in (line.split(None, 1) for line in lines if line and not line.startswith("#"))
    ]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def arguments(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [args for instruction, args in stage if instruction == name]


def environment(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs = [word.partition("=") for args in arguments(stage, "ENV") for word in shlex.split(args)]
    return {name: value for name, _, value in pairs}


def test_the_wheel_is_built_in_one_slim_stage_and_installed_in_another() -> None:
    build, final = stages()
    assert arguments(build, "FROM") == ["python:3.11-slim AS build"]
    assert any("pip wheel" in args and "--no-deps" in args for args in arguments(build, "RUN"))
    assert arguments(final, "FROM") == ["python:3.11-slim"]
    assert any(args.startswith("--from=build /wheels ") for args in arguments(final, "COPY"))


def test_the_final_stage_runs_install_sh_and_then_the_user_it_creates() -> None:
    _, final = stages()
    (run,) = arguments(final, "RUN")
    words = shlex.split(run)
    assert "ops/docker/install.sh" in " ".join(arguments(final, "COPY"))
    user = words[words.index("--user") + 1]
    assert arguments(final, "USER") == [user]
    assert user not in {"root", "0"}
    prefix = words[words.index("--prefix") + 1]
    assert environment(final)["PATH"].startswith(f"{prefix}/bin:")
    for copied in arguments(final, "COPY"):
        if not copied.startswith("--from="):  # from the build context: the repository's root
            for source in shlex.split(copied)[:-1]:
                assert (ROOT / source).is_file(), source


def test_hub_is_the_entrypoint_and_the_metrics_port_is_exposed_and_checked() -> None:
    _, final = stages()
    assert [json.loads(args) for args in arguments(final, "ENTRYPOINT")] == [["hub"]]
    assert [json.loads(args) for args in arguments(final, "CMD")] == [["run"]]
    env = environment(final)
    assert env["HUB_METRICS_PORT"] == IMAGE_PORT
    assert env["HUB_METRICS_HOST"] == "0.0.0.0"
    assert env["HUB_LOG_FORMAT"] == "json"
    assert arguments(final, "EXPOSE") == [IMAGE_PORT]
    (healthcheck,) = arguments(final, "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["hub-healthcheck"]')


def test_every_hub_setting_the_image_sets_is_one_the_settings_model_knows() -> None:
    _, final = stages()
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    assert {name for name in environment(final) if name.startswith("HUB_")} <= known


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "mutants", "*.sqlite3", "ops/asyncapi/node_modules"} <= set(ignored)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def healthcheck(port: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DOCKER / "healthcheck.py"), *arguments],
        env={"HUB_METRICS_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_healthcheck_passes_on_200_and_fails_otherwise(health_server: ThreadingHTTPServer) -> None:
    port = health_server.server_address[1]
    _Health.status = 200
    assert healthcheck(port).returncode == 0
    _Health.status = 503
    failed = healthcheck(port)
    assert failed.returncode == 1
    assert f"127.0.0.1:{port}/healthz answered 503" in failed.stderr


def test_healthcheck_asks_the_port_it_is_given_before_the_metrics_port(
    health_server: ThreadingHTTPServer,
) -> None:
    """The gateway's container: `hub-healthcheck 9410`, whatever HUB_METRICS_PORT says."""
    port = health_server.server_address[1]
    _Health.status = 200
    assert healthcheck(closed_port(), str(port)).returncode == 0
    assert healthcheck(port, str(closed_port())).returncode == 1


def test_healthcheck_fails_when_nothing_listens() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()  # the port is now free: nobody answers there
    failed = healthcheck(port)
    assert failed.returncode == 1
    assert "unhealthy" in failed.stderr
