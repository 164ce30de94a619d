"""The AsyncAPI 3.0 document of the partner contract and the canonical events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub import CONTRACT_VERSION
from hub.bus.topology import (
    DELIVERY_LIMIT,
    EVENTS_EXCHANGE,
    Topology,
    dead_letter_queue,
    egress_exchange,
    egress_queue,
    ingress_exchange,
)
from hub.docs.catalogue import (
    AMQP_BINDING_VERSION,
    AVRO_SCHEMA_FORMAT,
    EGRESS_PROPERTIES,
    VHOST,
    CanonicalEvent,
    Catalogue,
    EgressKind,
    IngressKind,
    Property,
    _bullets,
    _object,
    _summary,
    dead_letter_headers,
    egress_headers,
    event_headers,
    ingress_headers,
    ingress_properties,
)
from hub.envelope import (
    CONTENT_TYPE_JSON,
    HEADER_ORIGINAL_USER_ID,
    PERSISTENT,
)
from hub.event_seal import SEALED_PREFIX
from hub.schemas.registry import CONTENT_TYPE_AVRO, HEADER_FINGERPRINT, HEADER_SCHEMA

# --- AsyncAPI --------------------------------------------------------------------------------------


def _exchange_binding(topology: Topology, name: str) -> dict[str, Any]:
    exchange = {"name": name, "type": topology.exchange(name).type, "durable": True, "autoDelete": False}
    return {"amqp": {"is": "routingKey", "exchange": {**exchange, "vhost": VHOST}, **_binding_version()}}


def _queue_binding(topology: Topology, name: str) -> dict[str, Any]:
    queue = {"name": name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": VHOST}
    arguments = dict(topology.queue(name).arguments)
    return {"amqp": {"is": "queue", "queue": queue, "x-arguments": arguments, **_binding_version()}}


def _binding_version() -> dict[str, str]:
    return {"bindingVersion": AMQP_BINDING_VERSION}


def _message_binding(kind: str) -> dict[str, Any]:
    return {"amqp": {"messageType": kind, **_binding_version()}}


def _properties_extension(properties: Iterable[Property]) -> dict[str, str]:
    return {p.name: p.rule for p in properties}


def _ingress_message(cat: Catalogue, kind: IngressKind) -> dict[str, Any]:
    properties = ingress_properties()
    description = (
        f"Publish to exchange `{ingress_exchange(kind.partner)}` with routing key `{kind.kind}`. "
        "Required AMQP properties:\n\n" + _bullets(f"`{p.name}`: {p.rule}" for p in properties)
    )
    return {
        "name": kind.kind,
        "title": f"{kind.kind} ({kind.partner} to hub{_in_versions(kind.versions)})",
        "summary": _summary(kind.model),
        "description": description,
        "contentType": CONTENT_TYPE_JSON,
        "headers": ingress_headers(kind.versions),
        "payload": {"$ref": cat.refs[kind.model]},
        "bindings": _message_binding(kind.kind),
        "x-amqp-properties": _properties_extension(properties),
    }


def _in_versions(versions: Sequence[str]) -> str:
    """Which contract versions a message is in, when it is not only the first."""
    if tuple(versions) == (CONTRACT_VERSION,):
        return ""
    label = "version" if len(versions) == 1 else "versions"
    return f", contract {label} {', '.join(versions)}"


def _egress_message(cat: Catalogue, kind: EgressKind) -> dict[str, Any]:
    description = (
        f"Read from queue `{egress_queue(kind.partner)}`; routing key and `type` are `{kind.kind}`. "
        "AMQP properties:\n\n" + _bullets(f"`{p.name}`: {p.rule}" for p in EGRESS_PROPERTIES)
    )
    message: dict[str, Any] = {
        "name": kind.kind,
        "title": f"{kind.kind} (hub to {kind.partner})",
        "summary": kind.summary,
        "description": description,
        "contentType": CONTENT_TYPE_JSON,
        "headers": egress_headers(kind.unit_header),
        "payload": {"$ref": cat.refs[kind.model]},
        "bindings": _message_binding(kind.kind),
        "x-amqp-properties": _properties_extension(EGRESS_PROPERTIES),
    }
    if kind.dossier_field:
        message["correlationId"] = {
            "description": f"AMQP property `correlation_id`: the dossier code, as in `{kind.dossier_field}`",
            "location": f"$message.payload#/{kind.dossier_field}",
        }
    return message


def _dead_letter_messages(partner: str) -> dict[str, Any]:
    rejected = {
        "name": "rejected",
        "title": f"message the hub rejected from {ingress_exchange(partner)}",
        "summary": "The original body and properties, with the reason the hub gave.",
        "description": "Put here on the first delivery, before the ingress message is acknowledged. "
        "Body and properties are the original's (for replay), except `user_id`, which moves to "
        f"header `{HEADER_ORIGINAL_USER_ID}`. Details name field paths and rules, never values.",
        "headers": dead_letter_headers(partner),
        "payload": {"description": "the original body, byte for byte (not necessarily JSON)"},
    }
    limit = {
        "name": "deliveryLimitExceeded",
        "title": f"message RabbitMQ gave up on in the hub's queue for {ingress_exchange(partner)}",
        "summary": f"Delivered more than {DELIVERY_LIMIT} times, for a reason outside the hub's checks "
        "(a crash loop, say).",
        "description": "Dead-lettered by the broker, not the hub: it carries RabbitMQ's `x-death` header "
        "instead of the hub's `x-hub-*` headers.",
        "headers": _object(
            {"x-death": {"type": "array", "description": "RabbitMQ's dead-letter history"}}, []
        ),
        "payload": {"description": "the original body, byte for byte"},
    }
    return {"rejected": rejected, "deliveryLimitExceeded": limit}


def _event_key(event: CanonicalEvent, events: Sequence[CanonicalEvent]) -> str:
    same_name = sum(1 for e in events if e.full_name == event.full_name)
    return event.full_name if same_name == 1 else f"{event.full_name}-{event.fingerprint}"


def _event_message(event: CanonicalEvent) -> dict[str, Any]:
    return {
        "name": event.full_name,
        "title": event.full_name,
        "summary": str(event.schema.get("doc", f"canonical event {event.full_name}")),
        "contentType": CONTENT_TYPE_AVRO,
        "headers": event_headers(event),
        "payload": {"schemaFormat": AVRO_SCHEMA_FORMAT, "schema": event.schema},
    }


def _partner_channels(cat: Catalogue, partner: str) -> dict[str, Any]:
    ingress, egress, dead = ingress_exchange(partner), egress_queue(partner), dead_letter_queue(partner)
    return {
        ingress: {
            "address": ingress,
            "title": f"{partner} publishes here",
            "description": f"Exchange `{ingress}`; routing key = the message kind. Only `{partner}`'s "
            "broker users may write here; kinds not listed are dead-lettered as `unknown_kind`.",
            "messages": {k.key: _ingress_message(cat, k) for k in cat.ingress_of(partner)},
            "bindings": _exchange_binding(cat.topology, ingress),
        },
        egress: {
            "address": egress,
            "title": f"{partner} reads here",
            "description": f"Queue `{egress}`, bound with `#` to exchange `{egress_exchange(partner)}`, "
            "where the hub publishes with the kind as routing key; bind a queue of your own to that "
            "exchange to take only some kinds.",
            "messages": {k.kind: _egress_message(cat, k) for k in cat.egress_of(partner)},
            "bindings": _queue_binding(cat.topology, egress),
        },
        dead: {
            "address": dead,
            "title": f"what the hub rejected from {partner} (operations only)",
            "description": f"Queue `{dead}`: readable by operations, not by partners.",
            "messages": _dead_letter_messages(partner),
            "bindings": _queue_binding(cat.topology, dead),
        },
    }


def _events_channel(cat: Catalogue) -> dict[str, Any]:
    return {
        "address": EVENTS_EXCHANGE,
        "title": "canonical events (the hub's own consumers)",
        "description": f"Exchange `{EVENTS_EXCHANGE}`: every canonical event, Avro binary, named by "
        f"headers `{HEADER_SCHEMA}` and `{HEADER_FINGERPRINT}`. Fields marked `x-personal-data` carry "
        f"`{SEALED_PREFIX}<dossier code>:<base64url>`: sealed under the dossier's data key; only the hub "
        "opens them (`hub events open`).",
        "messages": {_event_key(e, cat.canonical): _event_message(e) for e in cat.canonical},
        "bindings": _exchange_binding(cat.topology, EVENTS_EXCHANGE),
    }


def _message_refs(channel_id: str, channel: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel["messages"]]


def _operation(action: str, channel_id: str, channel: Mapping[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        **rest,
        "messages": _message_refs(channel_id, channel),
    }


def _partner_operations(partner: str, channels: Mapping[str, Any]) -> dict[str, Any]:
    ingress, egress, dead = ingress_exchange(partner), egress_queue(partner), dead_letter_queue(partner)
    send_binding = {"amqp": {"deliveryMode": PERSISTENT, "timestamp": True, **_binding_version()}}
    receive_binding = {"amqp": {"ack": True, **_binding_version()}}
    return {
        f"{partner}.publish": _operation(
            "send", ingress, channels[ingress], title=f"{partner} publishes", bindings=send_binding
        ),
        f"{partner}.consume": _operation(
            "receive", egress, channels[egress], title=f"{partner} consumes", bindings=receive_binding
        ),
        f"operations.{partner}.deadLetters": _operation(
            "receive", dead, channels[dead], title=f"operations read what was rejected from {partner}"
        ),
    }


def asyncapi_document(cat: Catalogue) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document, from the partners' side."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for partner in cat.partners:
        partner_channels = _partner_channels(cat, partner)
        channels.update(partner_channels)
        operations.update(_partner_operations(partner, partner_channels))
    channels[EVENTS_EXCHANGE] = _events_channel(cat)
    operations["events.consume"] = _operation(
        "receive", EVENTS_EXCHANGE, channels[EVENTS_EXCHANGE], title="consume canonical events"
    )
    return {
        "asyncapi": "3.0.0",
        "info": _info(),
        "defaultContentType": CONTENT_TYPE_JSON,
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(cat.schemas)},
    }


def _info() -> dict[str, Any]:
    return {
        "title": "Dossier hub: partner contract",
        "version": CONTRACT_VERSION,
        "description": "What the portal, the one-stop-shop system and the post see of the integration "
        "hub: where each publishes and reads, and what each message looks like. Generated by "
        "`hub docs`; do not edit by hand.",
    }


def _servers() -> dict[str, Any]:
    return {
        "broker": {
            "host": "{host}",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "description": f"The province's RabbitMQ, vhost `{VHOST}`; each partner has its own broker user.",
            "variables": {"host": {"default": "localhost:5672", "description": "host:port of the broker"}},
        }
    }
