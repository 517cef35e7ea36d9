import logging

import pytest


def test_every_api_response_carries_a_generated_request_id(api):
    first = api.get("/api/v1/numbers")
    second = api.get("/api/v1/numbers")
    assert first.status_code == 200
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_valid_client_request_id_is_kept(api):
    response = api.get("/api/v1/numbers", HTTP_X_REQUEST_ID="client-trace-0001")
    assert response["X-Request-ID"] == "client-trace-0001"


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 200, "semi;colon;value"])
def test_an_invalid_client_request_id_is_replaced(api, bad):
    response = api.get("/api/v1/numbers", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_pages_and_errors_carry_it_too(client, anonymous_api):
    assert client.get("/login/")["X-Request-ID"]
    assert anonymous_api.get("/api/v1/nope")["X-Request-ID"]


def test_a_server_error_is_logged_with_the_id_the_client_gets(api, monkeypatch, caplog):
    from numbers_app.api import views

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.NumberViewSet, "list", explode)
    with caplog.at_level(logging.ERROR, logger="kalem_site.api"):
        response = api.get("/api/v1/numbers", HTTP_X_REQUEST_ID="trace-for-the-500")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "trace-for-the-500"
    assert "trace-for-the-500" in response.json()["error"]["message"]
    assert any("trace-for-the-500" in record.getMessage() for record in caplog.records)
    assert "boom" not in response.content.decode()
