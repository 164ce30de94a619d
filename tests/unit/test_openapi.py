"""docs/openapi.json: valid OpenAPI 3.1, one path per ingress kind with the kind's JSON Schema as body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate

import connectors
from hub import docs


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(docs.render()[docs.OPENAPI_FILE])
    return parsed


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_ingress_kind_has_a_path_whose_body_is_its_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for partner in connectors.partners():
        for kind in connectors.load(partner).routes:
            post = document["paths"][f"/v1/messages/{kind}"]["post"]
            body = post["requestBody"]["content"]["application/json"]["schema"]
            refs = [body["$ref"]] if "$ref" in body else [one["$ref"] for one in body["oneOf"]]
            for ref in refs:
                assert ref.removeprefix("#/components/schemas/") in schemas
            headers = {p["name"]: p for p in post["parameters"]}
            assert headers["Idempotency-Key"]["required"] is True
            assert {"202", "401", "403", "409", "413", "415", "422", "503"} <= set(post["responses"])


def test_refusals_are_problem_json(document: dict[str, Any]) -> None:
    for status, response in document["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], status
    assert "Retry-After" in document["components"]["responses"]["503"]["headers"]
