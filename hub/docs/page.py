"""The Markdown page a partner's developer reads, generated from the same catalogue."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hub import CONTRACT_VERSION
from hub.bus.topology import (
    DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    dead_letter_queue,
    egress_exchange,
    egress_queue,
    ingress_exchange,
)
from hub.connector import version_number
from hub.docs import verify_example
from hub.docs.catalogue import (
    ASYNCAPI_FILE,
    EGRESS_PROPERTIES,
    GENERATED,
    SCHEMA_REF,
    Catalogue,
    _summary,
    contract_versions,
    dead_letter_headers,
    egress_headers,
    ingress_headers,
    ingress_properties,
    reason_meaning,
)
from hub.envelope import HEADER_CONTRACT_VERSION
from hub.errors import Reason
from hub.event_seal import SEALED_PREFIX
from hub.schemas.registry import HEADER_FINGERPRINT, HEADER_SCHEMA, PERSONAL_DATA
from hub.settings import Settings
from hub.signatures import HEADER_KEY_ID, HEADER_SIGNATURE, SignatureMode

# --- Markdown --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    path: str
    type: str
    required: bool
    personal: bool
    rule: str


def _code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        return {**defs[ref.removeprefix(SCHEMA_REF)], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _unwrap(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """An optional field's schema (``anyOf`` with ``null``) as its one non-null branch, resolved."""
    branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        outer = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**_resolve(branches[0], defs), **outer}
    return _resolve(schema, defs)


def _type_label(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_type_label(_unwrap(b, defs), defs) for b in schema["anyOf"])
    if schema.get("type") == "array":
        return "list of " + _type_label(_unwrap(schema.get("items", {}), defs), defs)
    if schema.get("type") == "object" and "title" in schema:
        return f"object ({schema['title']})"
    return str(schema.get("type", "any"))


def _rules(schema: Mapping[str, Any], required: bool) -> Iterator[str]:
    if "const" in schema:
        yield "exactly " + _code(json.dumps(schema["const"], ensure_ascii=False))
    if "enum" in schema:
        yield "one of " + ", ".join(_code(json.dumps(v, ensure_ascii=False)) for v in schema["enum"])
    yield from _bounds(schema, "minLength", "maxLength", "length")
    yield from _bounds(schema, "minimum", "maximum", "value")
    yield from _bounds(schema, "minItems", "maxItems", "items")
    if "pattern" in schema:
        yield "pattern " + _code(schema["pattern"])
    if "format" in schema:
        yield "format " + schema["format"]
    if not required and schema.get("default") is not None:
        yield "default " + _code(json.dumps(schema["default"], ensure_ascii=False))
    if "description" in schema:
        yield str(schema["description"]).strip().replace("\n", " ")


def _bounds(schema: Mapping[str, Any], low: str, high: str, what: str) -> Iterator[str]:
    if low in schema and high in schema:
        yield f"{what} {schema[low]}..{schema[high]}"
    elif low in schema:
        yield f"{what} at least {schema[low]}"
    elif high in schema:
        yield f"{what} at most {schema[high]}"


def field_rows(
    schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str = "", seen: frozenset[str] = frozenset()
) -> list[FieldRow]:
    """One row per field of an object schema; nested objects and list items flattened (``a.b``, ``a[].b``)."""
    required = set(schema.get("required", ()))
    rows = []
    for name, raw in schema.get("properties", {}).items():
        prop = _unwrap(raw, defs)
        path, needed = prefix + name, name in required
        personal = prop.get(PERSONAL_DATA) is True
        rows.append(
            FieldRow(path, _type_label(prop, defs), needed, personal, "; ".join(_rules(prop, needed)))
        )
        rows.extend(_nested_rows(prop, defs, path, seen))
    return rows


def _nested_rows(
    prop: Mapping[str, Any], defs: Mapping[str, Any], path: str, seen: frozenset[str]
) -> list[FieldRow]:
    if prop.get("type") == "array":
        inner, path = _unwrap(prop.get("items", {}), defs), path + "[]"
    else:
        inner = prop
    title = str(inner.get("title", ""))
    if "properties" not in inner or title in seen:  # a model that contains itself is listed once
        return []
    return field_rows(inner, defs, path + ".", seen | {title})


def _field_table(rows: Sequence[FieldRow]) -> list[str]:
    return _table(
        ("field", "type", "required", "personal data", "rule"),
        (
            (_code(r.path), r.type, "yes" if r.required else "no", "**yes**" if r.personal else "", r.rule)
            for r in rows
        ),
    )


def _header_table(headers: Mapping[str, Any]) -> list[str]:
    rows = field_rows(headers, {})
    return _table(
        ("header", "type", "required", "rule"),
        ((_code(r.path), r.type, "yes" if r.required else "no", r.rule) for r in rows),
    )


def _model_section(
    cat: Catalogue,
    kind: str,
    model: type[BaseModel],
    lead: str,
    headers: Mapping[str, Any] | None = None,
    *,
    versions: Sequence[str] = (),
) -> list[str]:
    """A kind's section; ``versions``: the contract versions of this body, when the partner has several."""
    title = f"#### `{kind}`" + (f" (contract {_versions_label(versions)})" if versions else "")
    values = " or ".join(_code(v) for v in versions)
    sent = f" Header `{HEADER_CONTRACT_VERSION}`: {values}." if versions else ""
    lines = [title, "", f"{lead} Routing key and `type`: `{kind}`.{sent}", ""]
    if headers is not None:
        lines.extend(["Headers:", "", *_header_table(headers), "", "Body:", ""])
    rows = field_rows(cat.schemas[cat.refs[model].removeprefix(SCHEMA_REF)], cat.schemas)
    return [*lines, *_field_table(rows), ""]


def _versions_label(versions: Sequence[str]) -> str:
    if len(versions) == 1:
        return f"version {versions[0]}"
    return "versions " + ", ".join(versions[:-1]) + " and " + versions[-1]


def _ingress_section(cat: Catalogue, partner: str) -> list[str]:
    lines = ["### What you publish", ""]
    several = len({v for k in cat.ingress_of(partner) for v in k.versions}) > 1
    for kind in cat.ingress_of(partner):
        versions = kind.versions if several else ()
        lines.extend(_model_section(cat, kind.kind, kind.model, _summary(kind.model), versions=versions))
    if not cat.ingress_of(partner):
        exchange = ingress_exchange(partner)
        lines.extend([f"No kind yet: a message on `{exchange}` is dead-lettered as `unknown_kind`.", ""])
    return lines


def _egress_section(cat: Catalogue, partner: str) -> list[str]:
    lines = ["### What you receive", ""]
    for kind in cat.egress_of(partner):
        lines.extend(
            _model_section(cat, kind.kind, kind.model, kind.summary, egress_headers(kind.unit_header))
        )
    if not cat.egress_of(partner):
        lines.extend([f"No kind yet on `{egress_queue(partner)}`.", ""])
    return lines


def _partner_section(cat: Catalogue, partner: str) -> list[str]:
    where = [
        f"- publish to exchange `{ingress_exchange(partner)}` (topic, durable), routing key = the kind;",
        f"- read from queue `{egress_queue(partner)}` (bound to exchange `{egress_exchange(partner)}`);",
        f"- what the hub rejects goes to queue `{dead_letter_queue(partner)}` (operations only);",
        f"- your broker user (named `{partner}` unless the hub's operators chose another) may write only "
        f"to `{ingress_exchange(partner)}` and read only `{egress_queue(partner)}`; it declares, binds and "
        "deletes nothing, and RabbitMQ refuses a `user_id` other than your own "
        "(docs/broker-security.md).",
    ]
    return [
        f"## `{partner}`",
        "",
        *where,
        "",
        *_ingress_section(cat, partner),
        *_egress_section(cat, partner),
    ]


def _publishing_section() -> list[str]:
    rows = ((_code(p.name), p.rule, _code(str(p.reason)) if p.reason else "") for p in ingress_properties())
    return [
        "## Every message you publish",
        "",
        "AMQP properties:",
        "",
        *_table(("property", "rule", "reason if broken"), rows),
        "",
        "Headers:",
        "",
        *_header_table(ingress_headers(all_versions())),
        "",
        "Sending again: a message with a `message_id` the hub already forwarded for you and the same body "
        "is acknowledged and not forwarded again (safe to retry after a lost confirm); the same "
        "`message_id` with another body is rejected as `conflicting_duplicate`. A rejected message does "
        "not count: fix it and send it again under the same id.",
        "",
    ]


def all_versions() -> list[str]:
    """Every contract version some connector speaks, in order."""
    found = {version.version for _partner, version, _kinds in contract_versions()}
    return sorted(found, key=version_number)


def _contract_versions_section() -> list[str]:
    rows = (
        (
            _code(partner),
            _code(version.version),
            ", ".join(_code(k) for k in kinds) or "none (the same bodies as the version before)"
            if version.version != CONTRACT_VERSION
            else "the first version",
            version.retires.isoformat() if version.retires else "",
        )
        for partner, version, kinds in contract_versions()
    )
    setting = "`contract_versions`"
    return [
        "## Contract versions",
        "",
        f"Every message you publish says which version of the contract its body follows, in header "
        f"`{HEADER_CONTRACT_VERSION}`. The hub's operators accept, per partner, a set of versions (the "
        f"setting {setting}, by default only `{CONTRACT_VERSION}`); a message in any other version is "
        "rejected as `unsupported_contract_version`, and the detail names the versions accepted. A later "
        "version changes only some kinds' bodies: the other kinds are the same in every version, sent "
        "with the version's header. Whatever the version, the hub turns your message into the same "
        "canonical event, and what other partners receive does not change. The hub speaks these "
        "versions:",
        "",
        *_table(("partner", "version", "bodies changed", "retires on"), rows),
        "",
        "A renamed field is accepted, in the version that renamed it, only under its new name (the old "
        "name is an unknown field there): the body's schema lists the new name and says which name it "
        "had. Fields a version adds are optional.",
        "",
        "How you move to a later version:",
        "",
        f"1. Ask the province's operators to add the new version to your accepted versions ({setting}, "
        'e.g. `{"portal": ["1", "2"]}`); both are accepted from then on, side by side.',
        "2. Send the new version's bodies with its header, kind by kind or all at once; messages already "
        "on the way in the old version are still accepted.",
        "3. The operators watch `hub_messages_by_version_total{partner, kind, version}`: when the old "
        "version's count stops growing, nothing is sent in it any more.",
        "4. After the old version's retirement date, the operators remove it from your accepted versions; "
        "from then on a message in it is rejected as `unsupported_contract_version`.",
        "",
        "How a version is retired: it gets a retirement date (the table above). While it is still used, "
        "the hub writes a warning to its log naming the partner, the kind, the version and the date (at "
        "most once per partner and version every ten minutes, with the number of messages in between); "
        "after the date the line becomes an error. The date alone refuses nothing: a version is refused "
        "only once the operators remove it from the setting, so that your traffic never stops on a day "
        "nobody chose.",
        "",
    ]


def _receiving_section() -> list[str]:
    rows = ((_code(p.name), p.rule) for p in EGRESS_PROPERTIES)
    return ["## Every message you receive", "", *_table(("property", "value"), rows), ""]


def _signatures_section() -> list[str]:
    fields = Settings.model_fields
    max_age = fields["signature_max_age_seconds"].default
    ahead = fields["signature_max_ahead_seconds"].default
    modes = ", ".join(_code(str(m)) for m in SignatureMode)
    example = inspect.getsource(verify_example)
    example = example[example.index("import ") :].rstrip("\n")
    return [
        "## Signed messages",
        "",
        f"Ed25519, keys of 32 bytes, everything in standard base64. A signed message carries headers "
        f"`{HEADER_SIGNATURE}` (the 64-byte signature) and `{HEADER_KEY_ID}` (which key made it). The "
        "signed bytes are the label `hub-message-signature-v1`, a NUL byte, the `message_id`, a NUL byte, "
        "the `timestamp` in decimal, a NUL byte and the body exactly as published (`signed_bytes` below).",
        "",
        f"The hub's operators set, per partner, one of {modes} (default `off`: not checked). `optional`: a "
        "message carrying a signature must verify, an unsigned one is accepted. `required`: every message "
        "must be signed. Before the body is read, a message is rejected as `bad_signature` when its "
        "signature is missing (`required`), not 64 bytes of base64, made with a key id the hub does not "
        "list for you, or does not verify (any bit of the id, timestamp or body changed, or another "
        f"key), or when its `timestamp` was more than {max_age:g} seconds old when the hub received it "
        f"or is more than {ahead:g} seconds ahead of the hub's clock (both configurable). Rejection "
        "details never quote the signature or the body.",
        "",
        "Keys: `hub keys partner-keypair <partner>` makes a pair; the private key is yours alone, the hub "
        "lists the public key under its key id. To rotate, the operators list the new key beside the old "
        "one; sign with the new one; the old one is removed once nothing signed with it is on the way.",
        "",
        "Sending again: a signed message published twice, or re-signed under the same `message_id` with "
        "the same body, is acknowledged as a duplicate and not forwarded again; the same `message_id` "
        "with another body is `conflicting_duplicate`, signed or not. The timestamp bounds how long a "
        "captured message could be sent again at all. A dead letter an operator replays keeps your "
        "signature, which is checked again; its age is not.",
        "",
        f"The hub signs every message it publishes on egress the same way, with its own key (headers "
        f"`{HEADER_SIGNATURE}` and `{HEADER_KEY_ID}`; `hub keys egress-public-key` prints the key id and "
        "public key its operators give you). Check them, for instance in Python with the `cryptography` "
        "package (this code is run by the hub's tests):",
        "",
        "```python",
        example,
        "```",
        "",
    ]


def _dead_letter_section() -> list[str]:
    reasons = ((_code(str(r)), reason_meaning(r)) for r in Reason)
    headers = dead_letter_headers("<partner>")
    return [
        "## Rejected messages",
        "",
        "A message that breaks the contract goes, on its first delivery, to `hub.dead.<partner>` "
        "(read by operations, not by partners) with the original body and these headers:",
        "",
        *_header_table(headers),
        "",
        f"A message RabbitMQ itself gives up on (delivered more than {DELIVERY_LIMIT} times, for a reason "
        "outside these checks) lands there too, with RabbitMQ's `x-death` header instead.",
        "",
        *_table(("reason", "meaning"), reasons),
        "",
    ]


def _events_section(cat: Catalogue) -> list[str]:
    lines = [
        "## Canonical events",
        "",
        f"The hub also publishes every canonical event on exchange `{EVENTS_EXCHANGE}` (Avro binary), "
        f"named by headers `{HEADER_SCHEMA}` and `{HEADER_FINGERPRINT}`; for the hub's own consumers.",
        "",
        "Every field marked personal data in the catalogue (`x-personal-data`) travels sealed, as a string "
        f"of the field's own type: `{SEALED_PREFIX}<dossier code>:<base64url>` (AES-256-GCM under the "
        "dossier's data key, bound to the dossier, the event id and the field's position). Consumers "
        "that need the clear values ask the hub (`hub events open --dossier CODE`); once the dossier "
        'is forgotten (`hub audit forget`) nobody can open them. See docs/contract.md, "Canonical '
        'events".',
        "",
    ]
    if cat.canonical:
        rows = ((_code(e.full_name), _code(e.fingerprint)) for e in cat.canonical)
        lines.extend([*_table(("record", "fingerprint"), rows), ""])
    return lines


def partners_page(cat: Catalogue) -> str:
    lines = [
        GENERATED,
        "",
        f"# The dossier hub for partners (contract version {CONTRACT_VERSION})",
        "",
        "RabbitMQ, AMQP 0-9-1, vhost `/`. Each partner connects with its own broker user, publishes to "
        "its ingress exchange and reads its egress queue; it configures nothing. Fields marked "
        "*personal data* must never appear in logs, metric labels or error texts. The same contract, "
        f"machine-readable: [`{ASYNCAPI_FILE}`]({ASYNCAPI_FILE}) (AsyncAPI 3.0.0).",
        "",
        *_publishing_section(),
        *_contract_versions_section(),
        *_receiving_section(),
        *_signatures_section(),
    ]
    for partner in cat.partners:
        lines.extend(_partner_section(cat, partner))
    lines.extend([*_dead_letter_section(), *_events_section(cat)])
    return "\n".join(lines).rstrip("\n") + "\n"
