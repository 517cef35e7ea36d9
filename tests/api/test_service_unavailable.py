"""While the database cannot be reached, the API answers 503 `service_unavailable` with
Retry-After (never a 500) and the dashboard a plain "temporarily unavailable" page; the live
outage tests (tests/live/test_outages.py) stop and freeze a real PostgreSQL."""

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from rest_framework.test import APIClient

from kalem_site.accounts.services import token_create


def unreachable(error: type[Exception]):
    def execute(execute, sql, params, many, context):
        raise error("connection to server at 127.0.0.1, port 5432 failed: timeout expired")

    return execute


@pytest.fixture
def token(account):
    return token_create(account=account, name="Token").plaintext


def api_client(token: str) -> APIClient:
    # As a real server does: an exception outside a view becomes the handler's answer.
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "The service is temporarily unavailable; retry shortly."}
    }
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_an_api_view_answers_503_when_the_database_is_unreachable(token, error):
    client = api_client(token)
    with connection.execute_wrapper(unreachable(error)):
        response = client.get("/api/v1/numbers")
    assert_unavailable(response)


def test_a_write_answers_503_and_the_next_request_works_again(token, account):
    client = api_client(token)
    with connection.execute_wrapper(unreachable(OperationalError)):
        response = client.post("/api/v1/voice-agents", {"name": "Sales"}, format="json")
    assert_unavailable(response)
    assert client.post("/api/v1/voice-agents", {"name": "Sales"}, format="json").status_code == 201


def test_a_middleware_meeting_the_outage_answers_503_too(token):
    # The Idempotency-Key middleware looks the token up before any view runs.
    client = api_client(token)
    with connection.execute_wrapper(unreachable(OperationalError)):
        response = client.post("/api/v1/voice-agents", {"name": "Sales"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_unavailable(response)


def test_the_dashboard_shows_a_temporarily_unavailable_page(owner):
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    with connection.execute_wrapper(unreachable(OperationalError)):
        response = client.get("/numbers/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0
    assert b"Temporarily unavailable" in response.content


def test_other_errors_are_still_a_500(token, monkeypatch):
    from numbers_app.api import views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.NumberViewSet, "list", broken)
    response = api_client(token).get("/api/v1/numbers")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
