"""The OpenAPI schema at /api/v1/schema: valid, and true to the routes and errors."""

import re

import pytest
from drf_spectacular.validation import validate_schema

from kalem_site.api.urls import router
from tests.contract import NUMBER_KEYS

METHODS = {
    "list": "get",
    "create": "post",
    "retrieve": "get",
    "update": "put",
    "partial_update": "patch",
    "destroy": "delete",
}


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/")
    return response.json()


def routed_operations() -> set[tuple[str, str]]:
    """(path, method) of every operation the router serves, written as the contract does."""
    operations = set()
    for prefix, viewset, _ in router.registry:
        collection, detail = f"/api/v1/{prefix}", f"/api/v1/{prefix}/{{id}}"
        for action in ("list", "create"):
            if hasattr(viewset, action):
                operations.add((collection, METHODS[action]))
        for action in ("retrieve", "update", "partial_update", "destroy"):
            if hasattr(viewset, action):
                operations.add((detail, METHODS[action]))
        for extra in viewset.get_extra_actions():
            base = detail if extra.detail else collection
            for method in extra.mapping:
                # A nested route's regex group is a path parameter: `deliveries/{delivery_id}`.
                url_path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", extra.url_path)
                operations.add((f"{base}/{url_path}", method))
    return operations


def documented_operations(schema: dict) -> set[tuple[str, str]]:
    return {(path, method) for path, item in schema["paths"].items() for method in item}


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_it_is_public_and_needs_no_token(anonymous_api, db):
    assert anonymous_api.get("/api/v1/schema").status_code == 200


def test_it_documents_every_route_and_nothing_else(schema):
    assert documented_operations(schema) == routed_operations()
    assert len(routed_operations()) == 43


def test_every_operation_requires_the_bearer_token(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token of the account: `Authorization: Bearer <token>`.",
    }
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_every_operation_documents_its_errors_in_the_envelope(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            expected = {"400", "401", "429", "500"}
            if "{id}" in path:
                expected.add("404")
            if method in {"post", "put", "patch", "delete"}:
                expected.add("403")
            if method in {"post", "put", "patch"}:
                expected |= {"413", "415", "422"}
            if method == "get" and "{id}" not in path:
                expected.add("422")
            assert expected <= set(responses), (method, path, sorted(responses))
            for status in expected:
                assert responses[status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }


def test_lists_document_the_pagination_envelope_and_every_filter(schema):
    operation = schema["paths"]["/api/v1/numbers"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "page",
        "per_page",
        "search",
        "status",
        "voice_agent_id",
        "text_agent_id",
        "trunk_id",
        "provider",
        "routable",
    }
    routable = next(parameter for parameter in operation["parameters"] if parameter["name"] == "routable")
    assert routable["schema"] == {"type": "string", "enum": ["", "false", "true"]}
    assert "lookup" in routable["description"]
    page = schema["components"]["schemas"]["PaginatedNumberList"]
    assert page["required"] == ["data", "links", "meta"]
    assert set(page["properties"]["meta"]["properties"]) == {
        "current_page",
        "from",
        "last_page",
        "path",
        "per_page",
        "to",
        "total",
    }


def test_the_number_object_has_exactly_the_contract_keys(schema):
    number = schema["components"]["schemas"]["Number"]
    assert list(number["properties"]) == NUMBER_KEYS
    assert number["required"] == NUMBER_KEYS
    assert number["additionalProperties"] is False


def test_the_trunk_password_is_write_only(schema):
    assert "password" not in schema["components"]["schemas"]["Trunk"]["properties"]
    assert "password" in schema["components"]["schemas"]["TrunkRequest"]["properties"]


def test_put_is_documented_as_partial(schema):
    body = schema["paths"]["/api/v1/numbers/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert "required" not in component


def test_creates_link_to_what_they_created(schema):
    links = schema["paths"]["/api/v1/numbers"]["post"]["responses"]["201"]["links"]
    assert links["GetCreated"] == {"operationId": "numbers_retrieve", "parameters": {"id": "$response.body#/id"}}
    assert set(links) == {"GetCreated", "UpdateCreated", "PartialUpdateCreated", "DeleteCreated"}


def test_posts_document_the_idempotency_key(schema):
    parameters = schema["paths"]["/api/v1/trunks"]["post"]["parameters"]
    assert [parameter["name"] for parameter in parameters if parameter["in"] == "header"] == ["Idempotency-Key"]


def test_swagger_ui_is_served_from_our_own_static_files(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "https://" not in html and "http://cdn" not in html


def test_the_webhook_objects_have_exactly_the_contract_keys(schema):
    schemas = schema["components"]["schemas"]
    endpoint = ["id", "url", "description", "events", "enabled", "disabled_reason", "created_at", "updated_at"]
    delivery = [
        "id",
        "message_id",
        "event_type",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    for name, keys in [
        ("Webhook", endpoint),
        ("WebhookWithSecret", [*endpoint, "secret"]),
        ("Delivery", delivery),
        ("DeliveryDetail", [*delivery, "attempts_log"]),
        ("Attempt", ["attempted_at", "status_code", "duration_ms", "error", "response_excerpt"]),
    ]:
        assert list(schemas[name]["properties"]) == keys, name
        assert schemas[name]["required"] == keys, name
        assert schemas[name]["additionalProperties"] is False, name
    create = schema["paths"]["/api/v1/webhooks"]["post"]["responses"]["201"]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookWithSecret"}
