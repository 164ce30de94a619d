"""Errors, grouped by what the runtime does with them.

::

    HubError
    ├── Rejection              the message's fault: dead-letter it on the first delivery, ack, go on
    │   └── Deferral           not yet: park it until its dossier or earlier steps arrive, and
    │                          dead-letter it with its reason when the waiting window ends
    ├── TransientError         not the message's fault: keep it, retry with backoff, never dead-letter
    └── FatalError             the deployment's fault: stop and say what to fix (``exit_code``)
        ├── ConfigError        a setting is missing or wrong
        ├── BrokerRefused      RabbitMQ refused the hub's login, vhost or a permission
        ├── StoreRefused       the database does not exist or refused the hub's login
        ├── TopologyMissing    a queue the hub needs does not exist
        └── TopologyConflict   an entity exists with other arguments

Foreign exceptions (kombu, pika, SQLAlchemy) are translated into these at the hub.bus and hub.store
boundaries, so the pipeline only ever sees this tree. Texts never hold a message's values: a
``Rejection`` carries a field path and a rule, nothing a citizen typed; the refusals name the setting
to fix, its password masked.
"""

from __future__ import annotations

from enum import StrEnum

from hub.exits import Exit


class Reason(StrEnum):
    """The fixed list of ``x-hub-reason`` values (contract.md, "Duplicates, ordering, failures")."""

    MALFORMED_JSON = "malformed_json"
    INVALID_UTF8 = "invalid_utf8"
    TOO_LARGE = "too_large"
    MISSING_PROPERTY = "missing_property"
    WRONG_INGRESS = "wrong_ingress"
    UNKNOWN_KIND = "unknown_kind"
    UNSUPPORTED_CONTRACT_VERSION = "unsupported_contract_version"
    VALIDATION_FAILED = "validation_failed"
    UNKNOWN_AGENCY = "unknown_agency"
    UNKNOWN_DOSSIER = "unknown_dossier"
    INVALID_TRANSITION = "invalid_transition"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_SCHEMA = "unknown_schema"
    PROCESSING_FAILED = "processing_failed"


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class Rejection(HubError):
    """The message breaks the contract; ``detail`` names the field path and rule, never a value."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Deferral(Rejection):
    """The message may become valid once other messages arrive (its dossier, the steps before it).

    ``reason`` is what it is dead-lettered with if they do not come within the waiting window:
    ``unknown_dossier`` or ``invalid_transition``, the only two a later message can cure.
    """

    REASONS = frozenset({Reason.UNKNOWN_DOSSIER, Reason.INVALID_TRANSITION})

    def __init__(self, reason: Reason, detail: str) -> None:
        # Any other reason is final: waiting for it to go away would only delay the dead letter.
        if reason not in self.REASONS:
            raise ValueError(f"{reason} is final: a message cannot wait for it to go away")
        super().__init__(reason, detail)


class TransientError(HubError):
    """A failure that is not the message's fault; the message is kept and retried."""


class FatalError(HubError):
    """The deployment is wrong; retrying cannot help. ``hub`` prints the text as one line and exits
    with ``exit_code``."""

    exit_code = Exit.FAILURE


class ConfigError(FatalError):
    """A setting is missing or has a wrong value."""

    exit_code = Exit.CONFIG


class BrokerRefused(FatalError):
    """RabbitMQ refused the hub: its login, its vhost or a permission. Texts are one line."""

    exit_code = Exit.BROKER_REFUSED

    def __init__(self, masked_url: str, rule: str, broker_text: str) -> None:
        said = " ".join(broker_text.split())
        super().__init__(f"HUB_BROKER_URL ({masked_url}): {rule}; the broker said: {said}")


class StoreRefused(FatalError):
    """The database does not exist or refused the hub's login. Texts are one line."""

    exit_code = Exit.STORE_REFUSED

    def __init__(self, masked_url: str, rule: str, database_text: str) -> None:
        said = " ".join(database_text.split())
        super().__init__(f"HUB_DATABASE_URL ({masked_url}): {rule}; the database said: {said}")


class TopologyMissing(FatalError):
    """An entity the hub needs is not on the broker: ``hub topology apply`` was not run."""

    exit_code = Exit.TOPOLOGY_MISSING


class TopologyConflict(FatalError):
    """A broker entity already exists with arguments other than the ones the hub declares."""

    exit_code = Exit.TOPOLOGY_CONFLICT

    def __init__(self, entity: str, argument: str, broker_text: str) -> None:
        super().__init__(
            f"{entity} already exists with a different {argument!r}; the broker said: {broker_text}"
        )
        self.entity = entity
        self.argument = argument
