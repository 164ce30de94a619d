"""The OpenAPI 3.1 document of the HTTP gateway (``docs/openapi.json``), from the same catalogue as
the AsyncAPI document: one path per ingress kind, its request body the kind's JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub import CONTRACT_VERSION
from hub.checks import MESSAGE_ID
from hub.docs.catalogue import Catalogue, IngressKind, _summary
from hub.envelope import CONTENT_TYPE_JSON
from hub.gateway.auth import HEADER_PARTNER, HEADER_SIGNATURE, HEADER_TIMESTAMP
from hub.gateway.problems import PROBLEM_JSON, TITLES

OPENAPI_FILE = "openapi.json"
SCHEMAS = "#/components/schemas/"
RESPONSES = "#/components/responses/"
SECURITY: list[dict[str, list[str]]] = [
    {"apiKey": []},
    {"bearer": []},
    {"signature": [], "signaturePartner": [], "signatureTimestamp": []},
]
POST_REFUSALS = (401, 403, 409, 413, 415, 422, 503)


def _problem_schema() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "description": "RFC 9457 problem details; names the field and the rule, never the value sent",
        "required": ["type", "title", "status", "detail", "rule"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": text,
            "status": {"type": "integer"},
            "detail": text,
            "rule": {**text, "description": "the rule broken, e.g. idempotency_key, too_large"},
            "field": {**text, "description": "where: a header, body, kind or a query parameter"},
        },
    }


def _gateway_schemas() -> dict[str, Any]:
    text, nullable = {"type": "string"}, {"type": ["string", "null"]}
    return {
        "Problem": _problem_schema(),
        "Accepted": {
            "type": "object",
            "required": ["message_id", "kind", "published"],
            "properties": {
                "message_id": {**text, "description": "the Idempotency-Key, which became the message_id"},
                "kind": text,
                "published": {"type": "boolean", "description": "false: a repeat, not published again"},
                "detail": text,
            },
        },
        "PulledMessage": {
            "type": "object",
            "required": ["id", "message_id", "kind", "correlation_id", "headers", "body"],
            "properties": {
                "id": {**text, "description": "what to acknowledge with (valid until the lease ends)"},
                "message_id": text,
                "kind": text,
                "correlation_id": nullable,
                "timestamp": {"type": ["integer", "null"]},
                "headers": {"type": "object"},
                "body": {"description": "the egress message's JSON body"},
            },
        },
        "Pulled": {
            "type": "object",
            "required": ["messages"],
            "properties": {"messages": {"type": "array", "items": {"$ref": SCHEMAS + "PulledMessage"}}},
        },
        "AckRequest": {
            "type": "object",
            "required": ["ids"],
            "properties": {"ids": {"type": "array", "items": text}},
        },
        "AckAnswer": {
            "type": "object",
            "required": ["acknowledged", "unknown"],
            "properties": {
                "acknowledged": {"type": "array", "items": text},
                "unknown": {"type": "array", "items": text},
            },
        },
    }


def _responses() -> dict[str, Any]:
    problem = {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS + "Problem"}}}
    answers: dict[str, Any] = {
        str(status): {"description": TITLES[status], "content": problem} for status in TITLES
    }
    answers["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return answers


def _security_schemes() -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": name, "description": description}

    return {
        "apiKey": header("X-Api-Key", "the partner's API key"),
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "the partner's API key as a bearer token",
        },
        "signature": header(
            HEADER_SIGNATURE,
            "sha256=<hex of HMAC-SHA256(secret, timestamp LF method LF path-and-query LF body)>",
        ),
        "signaturePartner": header(HEADER_PARTNER, "the partner signing"),
        "signatureTimestamp": header(
            HEADER_TIMESTAMP, "seconds since the epoch; a few minutes' skew allowed"
        ),
    }


def _body_schema(cat: Catalogue, kinds: list[IngressKind]) -> dict[str, Any]:
    refs = sorted({cat.refs[k.model] for k in kinds})
    return {"$ref": refs[0]} if len(refs) == 1 else {"oneOf": [{"$ref": ref} for ref in refs]}


def _post_operation(cat: Catalogue, kind: str, kinds: list[IngressKind]) -> dict[str, Any]:
    partners = ", ".join(sorted({k.partner for k in kinds}))
    idempotency = {"type": "string", "pattern": MESSAGE_ID.pattern.removesuffix("$") + "$"}
    return {
        "operationId": f"post_{kind.replace('.', '_')}",
        "summary": _summary(kinds[0].model),
        "description": f"Published for you to your ingress as `{kind}` (may be posted by: {partners}). "
        "202 only once the broker confirmed it.",
        "security": SECURITY,
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": idempotency,
                "description": "becomes the message_id; the same key and body again is answered 202 "
                "without a second publish, with another body 409",
            },
            {
                "name": "X-Contract-Version",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "default": CONTRACT_VERSION},
            },
        ],
        "requestBody": {
            "required": True,
            "content": {CONTENT_TYPE_JSON: {"schema": _body_schema(cat, kinds)}},
        },
        "responses": {
            "202": {
                "description": "published and confirmed",
                "content": {CONTENT_TYPE_JSON: {"schema": {"$ref": SCHEMAS + "Accepted"}}},
            },
            **{str(status): {"$ref": RESPONSES + str(status)} for status in POST_REFUSALS},
        },
    }


def _pull_paths() -> dict[str, Any]:
    def answer(schema: str) -> dict[str, Any]:
        return {"description": "OK", "content": {CONTENT_TYPE_JSON: {"schema": {"$ref": SCHEMAS + schema}}}}

    refusals = {str(s): {"$ref": RESPONSES + str(s)} for s in (401, 422, 503)}
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 10}}
    return {
        "/v1/messages": {
            "get": {
                "operationId": "pull",
                "summary": "Take your egress messages, leased until acknowledged",
                "security": SECURITY,
                "parameters": [limit],
                "responses": {"200": answer("Pulled"), **refusals, "429": {"$ref": RESPONSES + "429"}},
            }
        },
        "/v1/messages/ack": {
            "post": {
                "operationId": "ack",
                "summary": "Acknowledge pulled messages; those never acknowledged return to the queue",
                "security": SECURITY,
                "requestBody": {
                    "required": True,
                    "content": {CONTENT_TYPE_JSON: {"schema": {"$ref": SCHEMAS + "AckRequest"}}},
                },
                "responses": {"200": answer("AckAnswer"), **refusals, "415": {"$ref": RESPONSES + "415"}},
            }
        },
    }


def _probe(summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [],
            "responses": {"200": {"description": "OK"}, "503": {"description": "not ready"}},
        }
    }


def openapi_document(cat: Catalogue) -> dict[str, Any]:
    by_kind: dict[str, list[IngressKind]] = {}
    for kind in cat.ingress:
        by_kind.setdefault(kind.kind, []).append(kind)
    paths: dict[str, Any] = {
        f"/v1/messages/{k}": {"post": _post_operation(cat, k, v)} for k, v in sorted(by_kind.items())
    }
    paths |= _pull_paths()
    paths |= {
        "/healthz": _probe("liveness"),
        "/readyz": _probe("readiness: the store and the broker answered lately"),
        "/metrics": _probe("Prometheus metrics"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dossier hub: HTTP gateway",
            "version": CONTRACT_VERSION,
            "description": "The partner contract over HTTP, for partners that cannot speak AMQP: post "
            "messages to your ingress, pull and acknowledge your egress. Generated by `hub docs`; do not "
            "edit by hand.",
        },
        "servers": [{"url": "http://localhost:9410", "description": "HUB_GATEWAY__HOST:HUB_GATEWAY__PORT"}],
        "paths": paths,
        "components": {
            "schemas": {**_sorted(cat.schemas), **_gateway_schemas()},
            "responses": _responses(),
            "securitySchemes": _security_schemes(),
        },
    }


def _sorted(schemas: Mapping[str, Any]) -> dict[str, Any]:
    return dict(sorted(schemas.items()))
