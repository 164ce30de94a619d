"""Typed settings: environment (prefix ``HUB_``) over an optional TOML file over defaults.

Two settings choose the deployment: ``HUB_BROKER_URL`` (unset: the embedded in-memory bus) and
``HUB_DATABASE_URL`` (default: a SQLite file in the working folder). URLs may hold passwords, so
both are ``SecretStr`` and ``hub config show`` prints them masked.
"""

from __future__ import annotations

import base64
import difflib
import logging
import re
import tomllib
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from hub.bus.management import ManagementAddress, derived_addresses, parse_management_url
from hub.bus.urls import BrokerAddress, parse_broker_url
from hub.crypto import KeyringError, MasterKeyring, Pseudonymizer
from hub.errors import ConfigError
from hub.settings.delivery import DeliveryPolicy, policy_for
from hub.settings.gateway import GatewaySettings
from hub.settings.portal_http import PortalHttpSettings
from hub.settings.postal_http import PostalHttpSettings
from hub.signatures import (
    KEY_ID,
    Freshness,
    PartnerKeys,
    SignatureMode,
    Signer,
    SigningKeyError,
    Verifier,
    private_key_from_text,
    public_key_from_text,
)

MIB = 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_BACKENDS = ("sqlite", "postgresql")
DEVELOPMENT_KEY_ID = "development"
DEVELOPMENT_KEY = bytes(range(32))  # public by design: only for the demo and tests
DEVELOPMENT_EGRESS_KEY = bytes(range(32, 64))  # the same, for egress signatures


class AgencySettings(BaseModel):
    """One unit of the province's agency registry (contract.md, "Agency registry").

    ``hub.agencies.AgencyRegistry`` checks the registry as a whole at start-up: codes, parents,
    successors and dates.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt key (valid_too) is refused, not ignored

    code: str = Field(
        description="electronic agency identifier: 000.00.00.H30 (QCVN 102:2016/BTTTT) or H30.01.02 "
        "(Decision 20/2020/QĐ-TTg), see hub/agency_codes.py"
    )
    name: str
    level: Literal["province", "district", "commune"] = "province"
    parent: str | None = Field(default=None, description="code of the unit one level up")
    valid_from: date | None = Field(default=None, description="first day in service; unset: always was")
    valid_to: date | None = Field(default=None, description="last day in service; unset: still in service")
    successor: str | None = Field(
        default=None,
        description="the unit that took over this one's work after a merger or rename (needs valid_to)",
    )
    # Where the post collects results from and brings collected dossiers to (order.create's Sender*
    # or Receiver* for the unit's side). Every unit that owns work needs them: checked at start-up.
    address: str | None = Field(default=None, description="street address of the unit's counter")
    phone: str | None = Field(
        default=None, pattern=r"^(0[0-9]{9}|\+84[0-9]{9})$", description="the counter's phone number"
    )
    province: str | None = Field(default=None, description="province or city of the counter")
    commune: str | None = Field(default=None, description="ward or commune of the counter")

    def has_postal_contact(self) -> bool:
        return None not in (self.address, self.phone, self.province, self.commune)


class Settings(BaseSettings):
    """Every knob of the hub. Each field's description is what ``hub config show`` documents."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    broker_url: SecretStr | None = Field(
        default=None,
        description="amqp://user:password@host:port/vhost (amqps:// for TLS); a cluster's hosts "
        "separated by commas (host1:5672,host2:5672), tried in order; the default vhost / is written "
        "amqp://host/, amqp://host// or amqp://host/%2F; unset = embedded bus",
    )
    database_url: SecretStr = Field(
        default=SecretStr("sqlite:///hub.sqlite3"), description="SQLAlchemy URL of the hub's store"
    )
    max_body_bytes: int = Field(default=MIB, gt=0, description="larger bodies: too_large")
    prefetch: int = Field(default=500, gt=0, description="unacknowledged inputs per worker")
    ingress_users: dict[str, list[str]] = Field(
        default_factory=dict,
        description="partner -> broker users accepted as user_id; a partner not listed: the broker "
        "user named like it (the one `hub topology show --definitions` creates)",
    )
    default_ingress_users: list[str] = Field(
        default_factory=list,
        description="users also accepted on an ingress not listed in ingress_users (development only, "
        'e.g. ["guest"]: `hub run` warns about guest)',
    )
    replay_users: list[str] = Field(
        default=["hub-operator"],
        description="broker users of operators who may replay dead letters (`hub dead-letters replay`) "
        "on any ingress, for the partner user that first sent them",
    )
    contract_versions: dict[str, list[str]] = Field(
        default_factory=dict,
        description='partner -> the x-contract-version values accepted on its ingress, e.g. {"portal": '
        '["1", "2"]} while the portal migrates; a partner not listed: ["1"]. Each must be a version its '
        "connector speaks (checked at start); docs/partners.md, Contract versions",
    )
    agencies: list[AgencySettings] = Field(
        default_factory=list,
        description="agency registry: one entry per unit, its code of either shape, 000.00.00.H30 or "
        "H30.01.02 (hub/agency_codes.py); the example's code is a sample, not a real agency's",
    )
    postal_customer_code: str = Field(
        default="HUB-SAMPLE",
        pattern=r"^[0-9A-Za-z._-]{1,32}$",
        description="the province's customer account with the postal operator (CustomerCode)",
    )
    postal_http: PostalHttpSettings = Field(
        default_factory=PostalHttpSettings,
        description="Vietnam Post's BCCI HTTP API and its tracking poller (docs/adapters.md); "
        "one variable per key, e.g. HUB_POSTAL_HTTP__CONSUMER_KEY",
    )
    master_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="key id -> base64 of 32 random bytes (`hub keys generate`); wraps each dossier's "
        "data key. Keep retired ids listed until `hub keys rotate` has re-wrapped their keys. Unset: "
        "a development key, announced by a warning at start-up",
    )
    active_master_key: str | None = Field(
        default=None, description="the id in master_keys that wraps new data keys (default: the only one)"
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32+ random bytes: the HMAC key of citizen ID pseudonyms in the audit "
        "log (`hub keys generate`). Unset: a development key. Changing it breaks search by ID",
    )
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="base64 of a 32-byte Ed25519 private key (`hub keys generate`) that signs the "
        "audit log's checkpoints; verifiers need only its public key. Unset: a development key",
    )
    audit_checkpoint_every: int = Field(
        default=10_000, gt=0, description="sign an audit checkpoint after this many new records"
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="or after this many seconds, when records were added"
    )
    audit_retention_days: int | None = Field(
        default=None,
        gt=0,
        description="`hub audit retain` forgets (destroys the data key of) each dossier whose last audit "
        "entry is older than this many days; the entries stay, masked. Unset: nothing expires",
    )
    working_calendar_file: Path | None = Field(
        default=None,
        description="TOML calendar of public holidays and swapped working Saturdays for working-day "
        "figures (`hub report overdue`); unset: the shipped Vietnamese calendar (hub/workdays_vn.toml)",
    )
    radar_within_working_days: int = Field(
        default=2,
        ge=0,
        le=60,
        description="hub_dossiers_due_soon counts dossiers due within this many working days",
    )
    radar_refresh_seconds: float = Field(
        default=300.0,
        ge=10,
        le=86400,
        description="how often `hub run` (with metrics_port) counts the dossiers due soon and overdue per "
        "unit for hub_dossiers_due_soon and hub_dossiers_overdue",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="serve /metrics, /healthz and /readyz on this port (unset: no server)",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    shutdown_grace_seconds: float = Field(
        default=10.0, gt=0, description="how long SIGTERM waits for in-flight work"
    )
    retry_backoff_seconds: float = Field(
        default=1.0, gt=0, description="first delay before a failed publish is retried"
    )
    retry_backoff_max_seconds: float = Field(
        default=30.0, gt=0, description="longest delay of any backoff (publishes, failures, connections)"
    )
    partitions: int = Field(
        default=8,
        ge=1,
        le=256,
        description="partition queues each ingress is routed to by dossier; changing it on a live system: "
        "drain, `hub topology apply`, restart (docs/runbook.md)",
    )
    park_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="a message that must wait for its dossier or earlier steps is tried again after this "
        "long (the park queue's TTL: changing it needs `hub topology apply` on a drained park)",
    )
    park_window_seconds: float = Field(
        default=900.0,
        ge=0,
        description="how long a waiting message is kept before it is dead-lettered unknown_dossier or "
        "invalid_transition; 0 dead-letters at once",
    )
    poison_after: int = Field(
        default=5,
        ge=1,
        description="processing failures of one message (a bug, not a store or broker outage) before "
        "the hub dead-letters it as processing_failed",
    )
    # Operations: where `hub run` answers /healthz, /readyz and /metrics, and how it writes its logs.
    metrics_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="address `hub run` serves /metrics, /healthz and /readyz on, at metrics_port "
        "(0.0.0.0 in a container, so Prometheus and the orchestrator's probes reach it)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per event; json: one JSON object per line (time, level, "
        "logger, event, and partner, kind, message_id, reason when the line is about a message)",
    )
    # Signed messages (hub.signatures).
    signatures: dict[str, Literal["off", "optional", "required"]] = Field(
        default_factory=dict,
        description="partner -> off, optional (a signature, when present, must verify) or required (every "
        "message signed); a partner not listed: off",
    )
    signature_public_keys: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="partner -> key id -> base64 of the partner's 32-byte Ed25519 public key (`hub keys "
        "partner-keypair`); list the old and the new key together while a partner rotates",
    )
    signature_max_age_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="a signed message whose timestamp is older than this when the hub receives it is "
        "bad_signature (stale); an operator's replay of a dead letter is exempt",
    )
    signature_max_ahead_seconds: float = Field(
        default=300.0, ge=0, description="how far ahead of the hub's clock a signed timestamp may be"
    )
    sign_egress: bool = Field(default=True, description="sign every egress message with egress_signing_key")
    egress_signing_key: SecretStr | None = Field(
        default=None,
        description="base64 of the hub's 32-byte Ed25519 private key that signs egress messages (`hub keys "
        "partner-keypair hub`); partners verify with its public key. Unset: a development key, announced "
        "by a warning at start-up",
    )
    egress_signing_key_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,32}$",
        description="the x-hub-key-id of egress signatures (default: derived from the public key)",
    )

    # Broker security as data (hub.broker_access): the users `hub topology show --definitions` creates.
    broker_hub_user: str = Field(
        default="hub",
        min_length=1,
        description="the broker user `hub run` connects as; the definitions give it only what a worker "
        "needs (partners get one user each, named in ingress_users; operators are replay_users)",
    )
    broker_passwords: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="broker user -> password, written into `hub topology show --definitions` as a salted "
        "SHA-256 hash; a user without one gets an empty hash (no login) until its password is set",
    )
    management_url: SecretStr | None = Field(
        default=None,
        description="RabbitMQ management API for `hub status`: http://user:password@host:15672 (a path "
        "prefix may follow); the user needs the 'monitoring' tag. Unset: each broker URL host on port "
        "15672 over http (15671 over https for amqps://), with the broker URL's user and password",
    )
    portal_http: PortalHttpSettings = Field(
        default_factory=PortalHttpSettings,
        description="the portal's HTTP integration service (DVCQG via NGSP/LGSP): one setting per key, "
        "e.g. HUB_PORTAL_HTTP__BASE_URL, HUB_PORTAL_HTTP__PASSWORD (secret)",
    )

    # HTTP partners (hub.delivery): `hub deliver <partner>` takes egress.<partner> to the partner's service.
    delivery: dict[str, DeliveryPolicy] = Field(
        default_factory=dict,
        description="partner -> its delivery policy for `hub deliver` (default: the policy of every partner "
        "not listed; a partner's entry overrides only the keys it sets): timeout_seconds (one call), "
        "concurrency (calls at once), rate_per_second (calls started per second; null: no limit), "
        "retry_base_seconds and retry_max_seconds (backoff while the partner is unavailable), "
        "breaker_failures and breaker_cooldown_seconds (the circuit breaker), prefetch (messages held)",
    )

    gateway: GatewaySettings = Field(
        default_factory=GatewaySettings,
        description="the HTTP gateway (`hub gateway serve`) for partners that cannot speak AMQP: "
        "address, partners' credentials, leases of pulled messages (docs/adapters.md)",
    )

    @field_validator("broker_url")
    @classmethod
    def _broker_url_is_readable(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            parse_broker_url(url.get_secret_value())  # its error names the rule, never the password
        return url

    @field_validator("management_url")
    @classmethod
    def _management_url_is_readable(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            parse_management_url(url.get_secret_value())  # its error names the rule, never the password
        return url

    def management_addresses(self) -> tuple[ManagementAddress, ...]:
        """Where ``hub status`` reads queue figures: the setting, or derived from the broker URL."""
        if self.management_url is not None:
            return (parse_management_url(self.management_url.get_secret_value()),)
        broker = self.broker_address()
        if broker is None:
            raise ConfigError("this command needs RabbitMQ: set HUB_BROKER_URL (and HUB_MANAGEMENT_URL)")
        return derived_addresses(broker)

    # Checked on loading, so that a wrong value ends any command with one line, not a traceback later.
    @field_validator("database_url")
    @classmethod
    def _database_url_is_readable(cls, url: SecretStr) -> SecretStr:
        check_database_url(url.get_secret_value())
        return url

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"one of {', '.join(LOG_LEVELS)} expected")
        return level.upper()

    def keyring(self) -> MasterKeyring:
        """The master keys; a fixed development key when none is configured (never for production:
        ``uses_development_key`` says so, and the hub warns at start-up)."""
        if not self.master_keys:
            return MasterKeyring({DEVELOPMENT_KEY_ID: DEVELOPMENT_KEY}, DEVELOPMENT_KEY_ID)
        texts = {key_id: secret.get_secret_value() for key_id, secret in self.master_keys.items()}
        active = self.active_master_key or (next(iter(texts)) if len(texts) == 1 else None)
        if active is None:
            raise ConfigError("master_keys lists several keys: set active_master_key to one of them")
        try:
            return MasterKeyring.from_text(texts, active)
        except KeyringError as error:
            raise ConfigError(str(error)) from None

    def uses_development_key(self) -> bool:
        return not self.master_keys or self.pseudonym_key is None or self.audit_signing_key is None

    def pseudonymizer(self) -> Pseudonymizer:
        if self.pseudonym_key is None:
            return Pseudonymizer(DEVELOPMENT_KEY)
        try:
            return Pseudonymizer(base64.b64decode(self.pseudonym_key.get_secret_value(), validate=True))
        except (ValueError, KeyringError):
            raise ConfigError("pseudonym_key: base64 of at least 32 bytes expected") from None

    def audit_private_key(self) -> Ed25519PrivateKey:
        """The key that signs audit checkpoints; unset: one made from the public development key."""
        if self.audit_signing_key is None:
            return Ed25519PrivateKey.from_private_bytes(DEVELOPMENT_KEY)
        try:
            seed = base64.b64decode(self.audit_signing_key.get_secret_value(), validate=True)
            return Ed25519PrivateKey.from_private_bytes(seed)
        except ValueError:  # binascii.Error is one; a seed of the wrong length is another
            raise ConfigError("audit_signing_key: base64 of 32 bytes expected") from None

    def egress_signer(self) -> Signer | None:
        """What signs egress messages; None when ``sign_egress`` is off. Unset key: the development
        key (``uses_development_egress_key``)."""
        if not self.sign_egress:
            return None
        try:
            if self.egress_signing_key is None:
                key = Ed25519PrivateKey.from_private_bytes(DEVELOPMENT_EGRESS_KEY)
            else:
                key = private_key_from_text(self.egress_signing_key.get_secret_value(), "egress_signing_key")
            return Signer(key, self.egress_signing_key_id)
        except SigningKeyError as error:
            raise ConfigError(str(error)) from None

    def uses_development_egress_key(self) -> bool:
        return self.sign_egress and self.egress_signing_key is None

    def signature_verifier(self) -> Verifier:
        """The partners' signature modes and public keys, read once; a ``ConfigError`` names a bad one."""
        partners = {}
        for partner in {*self.signatures, *self.signature_public_keys}:
            mode = SignatureMode(self.signatures.get(partner, "off"))
            keys = {}
            for key_id, text in self.signature_public_keys.get(partner, {}).items():
                setting = f"signature_public_keys.{partner}.{key_id}"
                if KEY_ID.fullmatch(key_id) is None:
                    raise ConfigError(f"{setting}: a key id is 1-32 characters of A-Z a-z 0-9 . _ -")
                try:
                    keys[key_id] = public_key_from_text(text, setting)
                except SigningKeyError as error:
                    raise ConfigError(str(error)) from None
            if mode is not SignatureMode.OFF and not keys:
                raise ConfigError(f"signatures.{partner} is {mode}: list its keys in signature_public_keys")
            partners[partner] = PartnerKeys(mode, keys)
        freshness = Freshness(self.signature_max_age_seconds, self.signature_max_ahead_seconds)
        return Verifier(partners, freshness, frozenset(self.replay_users))

    def delivery_policy(self, partner: str) -> DeliveryPolicy:
        """How `hub deliver` calls ``partner`` (hub.settings.delivery)."""
        return policy_for(self.delivery, partner)

    def accepted_users(self, partner: str) -> list[str]:
        return self.ingress_users.get(partner, [partner, *self.default_ingress_users])

    def broker_url_value(self) -> str | None:
        return None if self.broker_url is None else self.broker_url.get_secret_value()

    def broker_address(self) -> BrokerAddress | None:
        """The broker URL as the hub reads it (hub.bus.urls); None for the embedded bus."""
        url = self.broker_url_value()
        return None if url is None else parse_broker_url(url)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment over ``config_file`` (TOML) over the defaults; a
    ``ConfigError`` naming each wrong setting and its rule."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"configuration file not found: {config_file}")
    try:
        if config_file is None:
            return Settings(**overrides)

        class _FromFile(Settings):
            model_config = SettingsConfigDict(toml_file=config_file)

        return _FromFile(**overrides)
    except ValidationError as error:
        raise ConfigError(invalid_settings(error)) from None
    except SettingsError as error:  # pydantic-settings' text names the field, never the value
        raise ConfigError(unreadable_variable(error)) from None
    except tomllib.TOMLDecodeError as error:  # "Invalid value (at line 3, column 12)": no value quoted
        raise ConfigError(f"{config_file}: not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{config_file}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ConfigError(f"{config_file}: cannot be read: {error.strerror}") from None


def invalid_settings(error: ValidationError) -> str:
    """One line naming each wrong setting (as its environment variable) and the rule it breaks.

    Pydantic's own text quotes the value, which may be a password: only the rule is kept.
    """
    problems = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        top, *inner = problem["loc"]
        if problem["type"] == "extra_forbidden":  # only a file (or a JSON value) can hold one
            problems.append(_unknown_key(str(top), inner))
            continue
        name = f"HUB_{str(top).upper()}" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in inner)
        problems.append(f"{name}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def _unknown_key(top: str, inner: list[int | str]) -> str:
    """An unknown key as the TOML file spells it, with the nearest known key."""
    path = top + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in inner)
    model: type[BaseModel] = Settings
    if inner:
        model = DeliveryPolicy if top == "delivery" else AgencySettings
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(inner[-1] if inner else top), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{path}: unknown key, not a setting of the hub{hint}"


_SETTINGS_ERROR_FIELD = re.compile(r'field "([^"]+)"')


def unreadable_variable(error: SettingsError) -> str:
    """pydantic-settings' "error parsing value for field X" as one line naming the variable."""
    found = _SETTINGS_ERROR_FIELD.search(str(error))
    name = f"HUB_{found.group(1).upper()}" if found else "a HUB_ variable"
    return f"{name}: not valid JSON (in the environment a list or a map is written as JSON)"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``****``. Hosts are kept as written (a broker URL may
    list several, which ``urlsplit`` cannot read as one host and port)."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    if not at or not colon:
        return url
    return urlunsplit(parts._replace(netloc=f"{user}:****@{hosts}"))


def describe(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked: what ``hub config show`` prints."""
    shown = settings.model_dump(mode="json", exclude={"broker_url", "database_url"})
    broker = settings.broker_url_value()
    shown["broker_url"] = None if broker is None else mask_url(broker)
    shown["database_url"] = mask_url(settings.database_url.get_secret_value())
    return dict(sorted(shown.items()))


def check_database_url(url: str) -> None:
    """``ValueError`` naming the rule ``url`` breaks (never its password): the store is a SQLite
    file or a PostgreSQL database, written as a SQLAlchemy URL."""
    expected = "sqlite:///FILE or postgresql://user:password@host:port/database expected"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(f"not a database URL: {expected}") from None
    if parsed.get_backend_name() not in DATABASE_BACKENDS:
        raise ValueError(f"{parsed.get_backend_name()!r} is not a store the hub supports: {expected}")
    try:
        parsed.get_dialect()  # SQLAlchemy's part only: the driver itself is imported on connecting
    except NoSuchModuleError:
        raise ValueError(f"SQLAlchemy knows no driver {parsed.get_driver_name()!r}: {expected}") from None


# Variables with the prefix that belong to the project's tooling (tests, ops/compose), not to the hub.
TOOLING_VARIABLES = frozenset({"HUB_FAULT_FIGURES", "HUB_TEST_RABBIT_HOST", "HUB_PROVINCE_TOML"})


def unknown_variables(environ: Mapping[str, str], also_known: Collection[str] = ()) -> list[str]:
    """A warning for each ``HUB_`` variable that is no setting (pydantic-settings ignores them: a
    misspelt name would silently leave the default in force). Warned rather than refused, since
    other tools may share the prefix; ``also_known`` are read by someone else (a command's option)."""
    fields = list(Settings.model_fields)
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("HUB_") or upper in TOOLING_VARIABLES or upper in also_known:
            continue
        field = upper.removeprefix("HUB_").split("__", 1)[0].lower()
        if field in fields:
            continue
        close = difflib.get_close_matches(field, fields, n=1)
        hint = f"; did you mean HUB_{close[0].upper()}?" if close else ""
        warnings.append(f"{name} is not a setting of the hub and is ignored{hint}")
    return warnings


def warn_unknown_variables(
    environ: Mapping[str, str], log: logging.Logger, also_known: Collection[str] = ()
) -> None:
    for warning in unknown_variables(environ, also_known):
        log.warning("%s", warning)
