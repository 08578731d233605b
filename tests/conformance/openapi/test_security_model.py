"""Reading the security model and sample requests from an OpenAPI document."""

from __future__ import annotations

from typing import Any

from conformance.openapi.document import OpenAPIDocument, parse_document
from conformance.openapi.samples import sample_body, sample_path
from conformance.openapi.security import read_security_model

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "security": [{"basic": []}],
    "components": {
        "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"},
            "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        },
        "schemas": {
            "Order": {
                "type": "object",
                "required": ["amount", "type"],
                "properties": {
                    "amount": {"type": "number", "exclusiveMinimum": 0},
                    "type": {"type": "string", "enum": ["retail"]},
                    "note": {"type": "string"},
                },
            }
        },
    },
    "paths": {
        "/orders": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Order"}
                        }
                    }
                }
            }
        },
        "/orders/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "schema": {"type": "integer"}}
                ]
            }
        },
        "/users": {"get": {"security": [{"key": []}]}},
        "/public": {"get": {"security": []}},
    },
}


def model_of(data: dict[str, Any]) -> Any:
    return read_security_model(OpenAPIDocument(data=data, source="memory"))


def test_operations_inherit_the_api_default_or_declare_their_own() -> None:
    """Origins and effective requirements follow OpenAPI's two levels."""
    operations = {op.label: op for op in model_of(DOCUMENT).operations}

    assert operations["POST /orders"].origin == "api"
    assert operations["POST /orders"].requirements == ({"basic": []},)
    assert operations["GET /users"].scheme_names() == ["key"]
    assert operations["GET /public"].is_explicitly_public


def test_without_a_default_undeclared_operations_are_implicitly_public() -> None:
    """An operation with no security and no API default is undeclared, not explicit."""
    data = {**DOCUMENT, "security": None}
    del data["security"]

    orders = next(op for op in model_of(data).operations if op.path == "/orders")

    assert orders.origin == "undeclared"
    assert orders.is_public and not orders.is_explicitly_public


def test_samples_fill_path_parameters_and_required_fields() -> None:
    """Sample requests fill path parameters and required body fields from the schema."""
    operations = {op.label: op for op in model_of(DOCUMENT).operations}

    assert sample_path(operations["GET /orders/{id}"], DOCUMENT) == "/orders/1"
    body = sample_body(operations["POST /orders"], DOCUMENT)
    assert body == {"amount": 1.0, "type": "retail"}


def test_cyclic_references_end() -> None:
    """A schema that refers to itself yields a finite sample."""
    data = {
        "openapi": "3.0.0",
        "components": {
            "schemas": {
                "N": {
                    "type": "object",
                    "properties": {"n": {"$ref": "#/components/schemas/N"}},
                }
            }
        },
        "paths": {
            "/n": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/N"}
                            }
                        }
                    }
                }
            }
        },
    }
    operation = model_of(data).operations[0]

    assert isinstance(sample_body(operation, data), dict)


def test_documents_that_are_not_openapi_are_rejected_with_a_reason() -> None:
    """Garbage, non-mappings and documents without a version field are refused."""
    assert parse_document("{")[0] is None
    assert parse_document("[1, 2]")[1] == "not a mapping at the top level"
    assert parse_document('{"paths": {}}')[1] == "no 'openapi' version field"
    assert parse_document('{"openapi": "3.1.0", "paths": {}}')[0] is not None
