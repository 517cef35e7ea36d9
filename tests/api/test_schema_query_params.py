"""The OpenAPI schema declares exactly the query parameters each GET operation takes: every
declared one is accepted, and every accepted one is declared."""

import re

import pytest

from kalem_site.api.urls import router
from webhooks_app.services import endpoint_create


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/v1/schema")
    assert response.status_code == 200
    return response.json()


def declared_query_params(schema: dict) -> dict[str, list[dict]]:
    """Path of every GET operation → its declared query parameters."""
    return {
        path: [param for param in item["get"].get("parameters", []) if param["in"] == "query"]
        for path, item in schema["paths"].items()
        if "get" in item
    }


def example(param: dict, number) -> str:
    """A valid value for a declared parameter, from its schema: its example, its first
    non-empty choice, its minimum, or the first of a few values its pattern takes."""
    spec = param["schema"]
    if "example" in spec:
        return spec["example"]
    if "enum" in spec:
        return next(value for value in spec["enum"] if value)
    if spec["type"] == "integer":
        return str(spec.get("minimum", 1))
    if "pattern" not in spec:
        return number.number
    candidates = (str(number.id), number.number, "2025-01-01T00:00:00Z")
    return next(value for value in candidates if re.search(spec["pattern"], value))


def test_every_declared_query_parameter_of_every_get_is_accepted(
    schema, api, account, make_number, make_trunk, make_voice_agent, make_text_agent, settings
):
    settings.WEBHOOK_ALLOW_INSECURE = True  # an endpoint on 127.0.0.1, never called here
    number = make_number(account)
    ids = {
        "numbers": number.id,
        "trunks": make_trunk(account).id,
        "voice-agents": make_voice_agent(account).id,
        "text-agents": make_text_agent(account).id,
        "webhooks": endpoint_create(account=account, url="http://127.0.0.1:9/hook")[0].id,
    }
    checked = set()
    for path, params in declared_query_params(schema).items():
        if not params:
            continue
        url = path.replace("{id}", str(ids[path.split("/")[3]])) if "{id}" in path else path
        query = {param["name"]: example(param, number) for param in params}
        response = api.get(url, query)
        # Not only no "Unknown query parameter": each example is valid, so the answer is a 200.
        assert response.status_code == 200, (path, query, response.content[:500])
        checked.add(path)
    assert {"/api/v1/numbers", "/api/v1/numbers/{id}/events", "/api/v1/numbers/export.csv", "/api/v1/events"} <= checked


def accepted_query_params() -> dict[str, set[str]]:
    """Path of every GET operation → the query parameters its view accepts (any other one is
    a 422 "Unknown query parameter")."""
    accepted = {}
    for prefix, viewset, _ in router.registry:
        collection, detail = f"/api/v1/{prefix}", f"/api/v1/{prefix}/{{id}}"
        actions = [("list", collection, {}), ("retrieve", detail, {})]
        for extra in viewset.get_extra_actions():
            if "get" in extra.mapping:
                actions.append(
                    (extra.__name__, f"{detail if extra.detail else collection}/{extra.url_path}", extra.kwargs)
                )
        for name, path, initkwargs in actions:
            # A route's own regex parameters as the schema names them: (?P<x>…) is {x}.
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
            if hasattr(viewset, name):
                accepted[path] = viewset(action=name, **initkwargs).query_params_taken()
    return accepted


def test_every_accepted_query_parameter_is_declared(schema):
    declared = {path: {param["name"] for param in params} for path, params in declared_query_params(schema).items()}
    assert declared == accepted_query_params()
    assert declared["/api/v1/numbers/{id}/events"] == {"page", "per_page"}
