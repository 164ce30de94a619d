"""The exit codes of the ``hub`` command, in one place (listed in README.md and docs/runbook.md).

Each permanent failure has its own code, so a supervisor can tell "fix the deployment" from "retry"
(e.g. systemd's ``RestartPreventExitStatus=3 4 5 6 7``): the hub exits with them only when
retrying cannot help, and keeps retrying by itself while a broker or database is merely away.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    FAILURE = 1  # any other failure: a refused one-shot command, a broker unreachable for it, a bug
    USAGE = 2  # a wrong command line (click's own code)
    CONFIG = 3  # a setting is missing or wrong (HUB_*, the TOML file)
    BROKER_REFUSED = 4  # RabbitMQ refused the login, the vhost or a permission (HUB_BROKER_URL)
    STORE_REFUSED = 5  # the database does not exist, refused the login, or has a schema unknown here
    TOPOLOGY_MISSING = 6  # a queue the hub needs does not exist: run `hub topology apply`
    TOPOLOGY_CONFLICT = 7  # an entity exists with other arguments than the hub declares
    ATTENTION = 8  # `hub status` looked and found something that needs a person (each line says what)


# What `hub run` ends with when restarting it as is cannot help (systemd's RestartPreventExitStatus).
PERMANENT = frozenset(
    {Exit.CONFIG, Exit.BROKER_REFUSED, Exit.STORE_REFUSED, Exit.TOPOLOGY_MISSING, Exit.TOPOLOGY_CONFLICT}
)
