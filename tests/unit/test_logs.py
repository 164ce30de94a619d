"""What `hub` logs through its libraries."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hub import logs
from hub.settings import Settings


@pytest.fixture
def restored_levels() -> Iterator[None]:
    names = ("", "httpx", "httpcore")  # "": the root logger
    before = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restored_levels")
def test_the_http_clients_request_lines_stay_out_of_an_info_log() -> None:
    # httpx writes "HTTP Request: POST https://.../cancel?CustomerCode=...&OrderNumber=<dossier>/KQ"
    # at INFO: the query names a dossier, and a province's gateway may take credentials there.
    logging.getLogger().setLevel(logging.INFO)  # as basicConfig sets it where no handler is installed yet
    logs.configure(Settings(log_level="INFO"))
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
