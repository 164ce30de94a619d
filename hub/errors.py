"""Errors, grouped by what the runtime does with them.

::

    HubError
    ├── Rejection              the message's fault: dead-letter it on the first delivery, ack, go on
    │   └── Deferral           not yet: park it until its dossier or earlier steps arrive, and
    │                          dead-letter it with its reason when the waiting window ends
    ├── TransientError         not the message's fault: keep it, retry with backoff, never dead-letter
    └── FatalError             the deployment's fault: stop and say what to fix
        ├── ConfigError        a setting is missing or wrong
        └── TopologyConflict   an entity exists with other arguments

Foreign exceptions (kombu, pika, SQLAlchemy) are translated into these at the hub.bus and hub.store
boundaries, so the pipeline only ever sees this tree. Texts never hold a message's values: a
``Rejection`` carries a field path and a rule, nothing a citizen typed.
"""

from __future__ import annotations

from enum import StrEnum


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
    """The deployment is wrong; retrying cannot help."""


class ConfigError(FatalError):
    """A setting is missing or has a wrong value."""


class TopologyConflict(FatalError):
    """A broker entity already exists with arguments other than the ones the hub declares."""

    def __init__(self, entity: str, argument: str, broker_text: str) -> None:
        super().__init__(
            f"{entity} already exists with a different {argument!r}; the broker said: {broker_text}"
        )
        self.entity = entity
        self.argument = argument
