"""Contract versions side by side: which ``x-contract-version`` values each partner may send, and the
warning while a version that is being retired is still used.

Acceptance is the province's setting (``contract_versions``, default ``["1"]``), checked at start
against the versions each connector speaks. A connector may give a version a retirement date: the
date is documentation and a reason to warn, never a refusal of its own. After it, the hub keeps
accepting the version while the setting lists it, and says so louder (an error line, not a warning):
refusing on a date would dead-letter a partner's traffic on a day nobody chose to switch.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import date

from hub import CONTRACT_VERSION
from hub.backoff import LogThrottle
from hub.connector import Connector
from hub.errors import ConfigError

log = logging.getLogger(__name__)
VERSION = re.compile(r"^[1-9][0-9]{0,3}$")
SETTING = "contract_versions"
RETIREMENT_WARNING_SECONDS = 600.0  # at most one line per partner and version in this time


def accepted_versions(
    setting: Mapping[str, list[str]], connectors: Mapping[str, Connector]
) -> dict[str, tuple[str, ...]]:
    """Partner -> the versions accepted on its ingress; a ``ConfigError`` naming the setting for an
    empty list or a version the partner's connector does not speak."""
    accepted = {}
    for partner, connector in connectors.items():
        versions = tuple(setting.get(partner, [CONTRACT_VERSION]))
        spoken = [v.version for v in connector.versions]
        if not versions:
            raise ConfigError(f"{SETTING}.{partner}: list at least one version (spoken: {', '.join(spoken)})")
        for version in versions:
            if version not in spoken:
                raise ConfigError(
                    f"{SETTING}.{partner}: version {version!r} is not one the {partner} connector "
                    f"speaks ({', '.join(spoken)})"
                )
        accepted[partner] = tuple(dict.fromkeys(versions))
    return accepted


def check_setting(setting: Mapping[str, list[str]], connectors: Mapping[str, Connector]) -> None:
    """The whole setting against every connector the hub has, and their own declarations: at start."""
    unknown = sorted(set(setting) - set(connectors))
    if unknown:
        raise ConfigError(f"{SETTING}.{unknown[0]}: no such partner (known: {', '.join(connectors)})")
    for connector in connectors.values():
        check_connector(connector)
    accepted_versions(setting, connectors)


def check_connector(connector: Connector) -> None:
    """A connector's own declaration: versions are decimal numbers, and every kind's revisions are
    versions the connector speaks (a programming error, reported at start)."""
    spoken = {v.version for v in connector.versions}
    for version in spoken:
        if not VERSION.match(version):
            raise ConfigError(f"connector {connector.partner}: contract version {version!r} is not a number")
    for kind, route in connector.routes.items():
        for version in route.revisions:
            if version not in spoken:
                raise ConfigError(
                    f"connector {connector.partner}: {kind} has a model for version {version!r}, "
                    "which the connector does not declare"
                )


class RetirementWarnings:
    """Logs, at most once per partner and version every ``every`` seconds, that a version with a
    retirement date is still used; the next line says how many messages came in between. Keys are
    (partner, version) pairs of accepted versions only, so the table stays as small as the setting."""

    def __init__(
        self,
        connectors: Mapping[str, Connector],
        every: float = RETIREMENT_WARNING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dates = {
            (partner, v.version): v.retires
            for partner, connector in connectors.items()
            for v in connector.versions
            if v.retires is not None
        }
        self._every, self._clock = every, clock
        self._seen: dict[tuple[str, str], LogThrottle] = {}

    def used(self, partner: str, kind: str, version: str, today: date) -> None:
        """A message of ``partner``'s ``kind`` in ``version`` was accepted on ``today``."""
        retires = self._dates.get((partner, version))
        if retires is None:
            return
        key = (partner, version)
        throttle = self._seen.get(key)
        if throttle is None:
            throttle = self._seen[key] = LogThrottle(log, self._every, self._clock)
        held = throttle.due()
        if held is None:
            return
        if today <= retires:
            log.warning(
                "contract version %s of %s is retiring on %s and still used (%s; %d more messages "
                "since the last report): the partner should move to a later version",
                version, partner, retires.isoformat(), kind, held,
            )  # fmt: skip
        else:
            log.error(
                "contract version %s of %s retired on %s and is still used (%s; %d more messages since "
                "the last report): accepted only because contract_versions still lists it",
                version, partner, retires.isoformat(), kind, held,
            )  # fmt: skip
