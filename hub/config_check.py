"""``hub config check``: is this configuration ready for ``hub run``? Each part is one line.

The settings were already read as loading reads them (a wrong value ends the command before this
runs). Then the agency registry, the keys, the store and the broker are checked the way ``hub run``
uses them, without changing anything: the store is not migrated, no queue is declared and no
SQLite file is created. ``FAIL`` is what would stop ``hub run`` (or keep it waiting), ``warn`` what
it would start with but should not in production.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from hub import versions
from hub.agencies import AgencyRegistry
from hub.audit.checkpoints import raw_public_key
from hub.broker_access import guest_warnings
from hub.bus.session import worker_consumers
from hub.bus.transport import Transport
from hub.connector import Connector
from hub.errors import ConfigError, FatalError, TransientError
from hub.settings import Settings, unknown_variables
from hub.store import migrate
from hub.store.database import make_engine, opening_failure

DEVELOPMENT = "unset: the public development key is in use, which protects nothing (`hub keys generate`)"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    """One line of the check: ``text`` starts with what it is about (a setting, with its URL masked)."""

    status: Status
    part: str
    text: str

    def line(self) -> str:
        return f"{self.status.value:<4} {self.text}"


def _finding(status: Status, part: str, text: str) -> Finding:
    return Finding(status, part, f"{part}: {text}")


def _failure(part: str, error: Exception) -> Finding:
    """A FAIL from an error, under ``part`` (a setting, perhaps with its masked URL). Store and
    broker errors already start with their setting and URL; key errors with the field's name."""
    text = str(error)
    setting = part.split(" ", 1)[0]
    if text.startswith(setting):
        return Finding(Status.FAIL, part, text)
    return _finding(Status.FAIL, part, text.removeprefix(f"{setting.removeprefix('HUB_').lower()}: "))


def check(
    settings: Settings,
    partners: Sequence[str],
    environ: Mapping[str, str],
    *,
    config_file: Path | None = None,
    connect: bool = True,
    also_known: Collection[str] = (),
    speakers: Mapping[str, Connector] | None = None,
) -> list[Finding]:
    """Every finding, in the order ``hub run`` meets them; the store and broker only if ``connect``.
    ``also_known``: ``HUB_`` variables that are no setting but are read (by a command's option);
    ``speakers``: every partner's connector, to check the contract versions accepted against."""
    found = [
        *settings_findings(environ, config_file, also_known),
        *agency_findings(settings),
        *key_findings(settings),
        *([] if speakers is None else [contract_versions_finding(settings, speakers)]),
    ]
    if connect:
        found += [store_finding(settings), *broker_findings(settings, partners)]
    return found


def failed(findings: Iterable[Finding]) -> bool:
    return any(finding.status is Status.FAIL for finding in findings)


def settings_findings(
    environ: Mapping[str, str], config_file: Path | None, also_known: Collection[str] = ()
) -> list[Finding]:
    source = f"the environment over {config_file}" if config_file else "the environment"
    return [
        _finding(Status.OK, "settings", f"valid, read from {source}"),
        *(_finding(Status.WARN, "settings", warning) for warning in unknown_variables(environ, also_known)),
    ]


def agency_findings(settings: Settings) -> list[Finding]:
    try:
        registry = AgencyRegistry(settings.agencies)
        registry.require_postal_contacts()
    except ConfigError as error:
        return [_failure("HUB_AGENCIES", error)]
    if not len(registry):
        empty = "none listed: every message naming an agency will be dead-lettered unknown_agency"
        return [_finding(Status.WARN, "HUB_AGENCIES", empty)]
    return [_finding(Status.OK, "HUB_AGENCIES", f"{len(registry)} units, each owner with its postal contact")]


def contract_versions_finding(settings: Settings, speakers: Mapping[str, Connector]) -> Finding:
    part = "HUB_CONTRACT_VERSIONS"
    try:
        versions.check_setting(settings.contract_versions, speakers)
    except ConfigError as error:
        return _failure(part, error)
    accepted = versions.accepted_versions(settings.contract_versions, speakers)
    listed = ", ".join(f"{partner} {'+'.join(v)}" for partner, v in accepted.items())
    return _finding(Status.OK, part, f"accepted: {listed}")


def key_findings(settings: Settings) -> list[Finding]:
    return [_master_keys(settings), _pseudonym_key(settings), _signing_key(settings), *_signatures(settings)]


def _master_keys(settings: Settings) -> Finding:
    part = "HUB_MASTER_KEYS"
    try:
        keyring = settings.keyring()
    except ConfigError as error:
        return _failure(part, error)
    if not settings.master_keys:
        return _finding(Status.WARN, part, DEVELOPMENT)
    return _finding(
        Status.OK, part, f"{len(settings.master_keys)} key(s), new data keys wrapped by {keyring.active!r}"
    )


def _pseudonym_key(settings: Settings) -> Finding:
    part = "HUB_PSEUDONYM_KEY"
    try:
        settings.pseudonymizer()
    except ConfigError as error:
        return _failure(part, error)
    return (
        _finding(Status.WARN, part, DEVELOPMENT)
        if settings.pseudonym_key is None
        else _finding(Status.OK, part, "set")
    )


def _signing_key(settings: Settings) -> Finding:
    part = "HUB_AUDIT_SIGNING_KEY"
    try:
        public = base64.b64encode(raw_public_key(settings.audit_private_key().public_key())).decode()
    except ConfigError as error:
        return _failure(part, error)
    if settings.audit_signing_key is None:
        return _finding(Status.WARN, part, DEVELOPMENT)
    return _finding(Status.OK, part, f"set; verifiers check checkpoints with public key {public}")


def _signatures(settings: Settings) -> list[Finding]:
    """The partners' signature modes and public keys, and the key that signs egress."""
    try:
        settings.signature_verifier()
    except ConfigError as error:
        return [_failure("HUB_SIGNATURES", error)]
    try:
        settings.egress_signer()
    except ConfigError as error:
        return [_failure("HUB_EGRESS_SIGNING_KEY", error)]
    checked = sorted(p for p, mode in settings.signatures.items() if mode != "off")
    modes = ", ".join(f"{p} {settings.signatures[p]}" for p in checked) or "checked for no partner"
    found = [_finding(Status.OK, "HUB_SIGNATURES", modes)]
    if settings.uses_development_egress_key():
        found.append(_finding(Status.WARN, "HUB_EGRESS_SIGNING_KEY", DEVELOPMENT))
    return found


def store_finding(settings: Settings) -> Finding:
    url = settings.database_url.get_secret_value()
    parsed = make_url(url)
    part = f"HUB_DATABASE_URL ({parsed.render_as_string(hide_password=True)})"
    missing = _missing_sqlite_file(part, parsed)
    if missing is not None:
        return missing
    try:
        engine = make_engine(url)
    except ConfigError as error:
        return _failure(part, error)
    part = f"HUB_DATABASE_URL ({engine.url.render_as_string(hide_password=True)})"  # with its driver
    try:
        revision, tables = _schema(engine)
    except DBAPIError as error:
        return _failure(part, opening_failure(error, engine))
    finally:
        engine.dispose()
    return _revision_finding(part, revision, tables)


def _missing_sqlite_file(part: str, url: URL) -> Finding | None:
    """A SQLite file that does not exist yet (connecting would create it: not for a check)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database or "")
    if path.exists():
        return None
    if not path.parent.is_dir():
        return _finding(Status.FAIL, part, f"the SQLite file's folder {path.parent} does not exist")
    return _finding(Status.WARN, part, f"the SQLite file {path} does not exist yet: `hub run` creates it")


def _schema(engine: Engine) -> tuple[str | None, set[str]]:
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        return revision, set(inspect(connection).get_table_names())


def _revision_finding(part: str, revision: str | None, tables: set[str]) -> Finding:
    head = migrate.head()
    if revision == head:
        return _finding(Status.OK, part, f"answers; its schema is at the newest revision {head}")
    if revision is None:
        hub_tables = tables & set(migrate.all_tables().tables)
        made = "holds the hub's tables without a migration history" if hub_tables else "is empty"
        return _finding(Status.WARN, part, f"answers and {made}: `hub run` migrates it to {head}")
    if revision in migrate.known_revisions():
        return _finding(Status.WARN, part, f"is at revision {revision}: `hub run` migrates it to {head}")
    return _finding(
        Status.FAIL,
        part,
        f"is at revision {revision}, which this hub does not know (a newer hub migrated it): "
        "run that version",
    )


def broker_findings(settings: Settings, partners: Sequence[str]) -> list[Finding]:
    address = settings.broker_address()
    if address is None:
        needed = "unset: `hub run` needs RabbitMQ (the embedded broker is for `hub demo`)"
        return [_finding(Status.FAIL, "HUB_BROKER_URL", needed)]
    part = f"HUB_BROKER_URL ({address.masked()})"
    queues = list(worker_consumers(partners, settings.partitions, on_rabbitmq=True).all_queues)
    try:
        Transport(settings.broker_url_value()).require_queues(queues)
    except (FatalError, TransientError) as error:
        return [_failure(part, error)]
    reached = (
        f"answers; user {address.user!r} reaches vhost {address.vhost!r}, "
        f"where the hub's {len(queues)} queues exist"
    )
    guest = guest_warnings(settings, partners)  # guest accepted on an ingress, for replays, or as the hub
    return [_finding(Status.OK, part, reached), *(_finding(Status.WARN, part, text) for text in guest)]
