"""Every error of API.md section 2 that the API can give today, each in the JSON envelope.

(429 `rate_limited`: no throttle is configured yet; the handler's mapping is checked directly.)"""

import json
import logging

import pytest
from django.test import Client
from django.urls import path
from rest_framework.exceptions import Throttled
from rest_framework.test import APIClient

import kalem_site.urls
from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.services import token_create
from kalem_site.api.exceptions import api_exception_handler
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import assert_error, next_e164

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def number(account, make_number):
    return make_number(account, status="active")


def bodies_of(model) -> list:
    return list(model.objects.order_by("id").values())


# --- 400 bad_request -----------------------------------------------------------------------

MALFORMED_JSON = [
    b'{"number": ',
    b"{'number': '+15551234567'}",
    b'{"number": "+15551234567",}',
    b'{"number": "+15551234567"} trailing',
    b"\x00",
    b"   ",
]


@pytest.mark.parametrize("body", MALFORMED_JSON)
def test_malformed_json_is_400(api, body):
    response = api.generic("POST", "/api/v1/numbers", body, content_type=JSON)
    assert_error(response, 400, "bad_request")
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("body", [b"[]", b'[{"number": "+15551234567"}]', b'"text"', b"42", b"1.5", b"null", b"true"])
def test_json_that_is_not_an_object_is_400(api, body):
    response = api.generic("POST", "/api/v1/numbers", body, content_type=JSON)
    error = assert_error(response, 400, "bad_request")
    assert "object" in error["message"]
    assert not PhoneNumber.objects.exists()


def test_json_that_is_not_an_object_is_400_on_update_too(api, number):
    response = api.generic("PUT", f"/api/v1/numbers/{number.id}", b'["inactive"]', content_type=JSON)
    assert_error(response, 400, "bad_request")
    number.refresh_from_db()
    assert number.status == "active"


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "caf\xe9"}',  # latin-1, not UTF-8
        b'{"name": "\xff\xfe"}',
        '{"name": "Agent"}'.encode("utf-16"),
    ],
)
def test_a_body_that_is_not_utf8_is_400(api, body):
    response = api.generic("POST", "/api/v1/voice-agents", body, content_type=JSON)
    assert_error(response, 400, "bad_request")
    assert not VoiceAgent.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400(api, number, constant):
    body = f'{{"voice_agent_id": {constant}}}'.encode()
    response = api.generic("PATCH", f"/api/v1/numbers/{number.id}", body, content_type=JSON)
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("body", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000])
def test_deeply_nested_json_is_400_not_500(api, body):
    response = api.generic("POST", "/api/v1/text-agents", body, content_type=JSON)
    assert_error(response, 400, "bad_request")
    assert not TextAgent.objects.exists()


@pytest.mark.parametrize(
    "url", ["/api/v1/numbers/activate", "/api/v1/numbers/deactivate", "/api/v1/trunks", "/api/v1/voice-agents"]
)
def test_malformed_json_is_400_on_every_write(api, url):
    response = api.generic("POST", url, b"{nope", content_type=JSON)
    assert_error(response, 400, "bad_request")


def test_a_json_body_with_a_utf8_charset_is_accepted(api):
    body = json.dumps({"number": next_e164()}).encode()
    response = api.generic("POST", "/api/v1/numbers", body, content_type="application/json; charset=utf-8")
    assert response.status_code == 201
    assert PhoneNumber.objects.filter(pk=response.json()["id"]).exists()


# --- 401 / 403 -----------------------------------------------------------------------------


def test_no_token_is_401(anonymous_api):
    response = anonymous_api.get("/api/v1/trunks")
    assert_error(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_read_only_token_writing_is_403(read_only_api):
    response = read_only_api.post("/api/v1/voice-agents", {"name": "Nope"}, format="json")
    assert_error(response, 403, "forbidden")
    assert not VoiceAgent.objects.exists()


# --- 404 not_found -------------------------------------------------------------------------

UNKNOWN_ROUTES = [
    "/api/",
    "/api/v1",
    "/api/v1/",
    "/api/v1/nope",
    "/api/v2/numbers",
    "/api/v1/numbers/1/extra",
    "/api/v1/numbers/activate/now",
    "/api/v1/Numbers",
    "/api/v1/numbers.json",
]


@pytest.mark.parametrize("url", UNKNOWN_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("client_name", ["api", "anonymous_api"])
def test_an_unknown_route_is_a_json_404(request, client_name, method, url):
    client = request.getfixturevalue(client_name)
    response = getattr(client, method)(url, {"x": 1}, format="json") if method == "post" else client.get(url)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("resource", ["numbers", "trunks", "voice-agents", "text-agents"])
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "-1", "0", "1e3", "%20", "%00", "99999999999999999999999", "\u0661"])
def test_a_non_integer_or_impossible_id_is_404(api, resource, bad_id):
    response = api.get(f"/api/v1/{resource}/{bad_id}")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_writing_to_a_non_integer_id_is_404(api, number, method):
    response = getattr(api, method)("/api/v1/numbers/abc", {"status": "inactive"}, format="json")
    assert_error(response, 404, "not_found")
    number.refresh_from_db()
    assert number.status == "active"


def test_an_id_that_does_not_exist_is_404(api, number):
    response = api.get(f"/api/v1/numbers/{number.id + 1000}")
    assert_error(response, 404, "not_found")


def test_activating_an_unknown_number_is_404(api):
    response = api.post("/api/v1/numbers/activate", {"number": next_e164()}, format="json")
    assert_error(response, 404, "not_found")


# --- 405 method_not_allowed ----------------------------------------------------------------


def allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


@pytest.mark.parametrize(
    "method, url, must_allow",
    [
        ("delete", "/api/v1/numbers", {"GET", "POST"}),
        ("put", "/api/v1/numbers", {"GET", "POST"}),
        ("patch", "/api/v1/trunks", {"GET", "POST"}),
        ("delete", "/api/v1/voice-agents/", {"GET", "POST"}),
        ("patch", "/api/v1/numbers/activate", {"POST"}),
        ("get", "/api/v1/numbers/activate", {"POST"}),
        ("delete", "/api/v1/numbers/deactivate", {"POST"}),
    ],
)
def test_a_wrong_method_is_405_with_an_allow_header(api, method, url, must_allow):
    response = getattr(api, method)(url)
    assert_error(response, 405, "method_not_allowed")
    assert must_allow <= allowed(response)
    assert method.upper() not in allowed(response)


def test_post_on_an_object_is_405_with_an_allow_header(api, number):
    response = api.post(f"/api/v1/numbers/{number.id}", {"status": "inactive"}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert {"GET", "PUT", "PATCH", "DELETE"} <= allowed(response)
    assert "POST" not in allowed(response)
    number.refresh_from_db()
    assert number.status == "active"


def test_trace_is_405(api):
    response = api.trace("/api/v1/numbers")
    assert_error(response, 405, "method_not_allowed")
    assert "TRACE" not in allowed(response)


# --- 413 payload_too_large -----------------------------------------------------------------


def test_a_body_over_the_limit_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"name": "x" * 200}).encode()
    response = api.generic("POST", "/api/v1/voice-agents", body, content_type=JSON)
    assert_error(response, 413, "payload_too_large")
    assert not VoiceAgent.objects.exists()


def test_a_body_at_the_limit_is_accepted(api, settings):
    body = json.dumps({"name": "Exactly at the limit"}).encode()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    response = api.generic("POST", "/api/v1/voice-agents", body, content_type=JSON)
    assert response.status_code == 201
    assert VoiceAgent.objects.get().name == "Exactly at the limit"


def test_a_body_over_the_limit_is_413_even_with_an_understated_content_length(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"name": "x" * 200}).encode()
    response = api.generic("POST", "/api/v1/voice-agents", body, content_type=JSON, CONTENT_LENGTH="10")
    # The body is cut at the stated length, so it is not JSON: either way nothing is created.
    assert response.status_code in (400, 413)
    assert response.json()["error"]["code"] in ("bad_request", "payload_too_large")
    assert not VoiceAgent.objects.exists()


def test_an_update_over_the_limit_is_413(api, number, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    body = json.dumps({"status": "inactive", "padding": "x" * 100}).encode()
    response = api.generic("PUT", f"/api/v1/numbers/{number.id}", body, content_type=JSON)
    assert_error(response, 413, "payload_too_large")
    number.refresh_from_db()
    assert number.status == "active"


# --- 415 unsupported_media_type ------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded", b"number=%2B15551234567"),
        ("text/plain", b'{"number": "+15551234567"}'),
        (
            "multipart/form-data; boundary=BoUnDaRy",
            b'--BoUnDaRy\r\nContent-Disposition: form-data; name="number"\r\n\r\n+15551234567\r\n--BoUnDaRy--\r\n',
        ),
        ("application/xml", b"<number>+15551234567</number>"),
        ("application/octet-stream", b'{"number": "+15551234567"}'),
    ],
)
def test_a_body_that_is_not_json_is_415(api, content_type, body):
    response = api.generic("POST", "/api/v1/numbers", body, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert not PhoneNumber.objects.exists()


def test_a_form_encoded_update_is_415(api, number):
    response = api.generic(
        "PATCH", f"/api/v1/numbers/{number.id}", b"status=inactive", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")
    number.refresh_from_db()
    assert number.status == "active"


def test_a_text_plain_deactivate_is_415(api, number):
    response = api.generic(
        "POST", "/api/v1/numbers/deactivate", json.dumps({"number": number.number}).encode(), content_type="text/plain"
    )
    assert_error(response, 415, "unsupported_media_type")
    number.refresh_from_db()
    assert number.status == "active"


# --- 422 validation_error ------------------------------------------------------------------


def test_invalid_data_is_422_with_fields(api):
    response = api.post("/api/v1/numbers", {}, format="json")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["number"]
    assert all(isinstance(message, str) for message in error["fields"]["number"])
    assert not PhoneNumber.objects.exists()


def test_an_invalid_query_parameter_is_422_naming_it(api):
    response = api.get("/api/v1/numbers?status=sleeping")
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == ["status"]


@pytest.mark.parametrize(
    "url, body, field",
    [
        ("/api/v1/voice-agents", {"name": "a\u0000b"}, "name"),
        ("/api/v1/text-agents", {"name": "ok", "description": "a\u0000b"}, "description"),
        ("/api/v1/numbers", {"number": "+1555\u00001234567"}, "number"),
        ("/api/v1/numbers/activate", {"number": "+1555\u00001234567"}, "number"),
        ("/api/v1/trunks", {"name": "a\u0000b", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1"}, "name"),
        ("/api/v1/trunks", {"name": "t", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1\u0000"}, "host"),
        (
            "/api/v1/trunks",
            {
                "name": "t",
                "direction": "inbound",
                "auth_type": "digest",
                "host": "10.0.0.1",
                "username": "u",
                "password": "p\u0000w",
            },
            "password",
        ),
    ],
)
def test_a_nul_byte_in_a_string_field_is_422_not_500(api, url, body, field):
    response = api.post(url, body, format="json")
    error = assert_error(response, 422, "validation_error")
    assert field in error["fields"]
    assert not VoiceAgent.objects.exists()
    assert not TextAgent.objects.exists()
    assert not SipTrunk.objects.exists()
    assert not PhoneNumber.objects.exists()


def test_a_nul_byte_in_an_update_is_422_not_500(api, account, make_voice_agent):
    agent = make_voice_agent(account, name="Sales")
    response = api.patch(f"/api/v1/voice-agents/{agent.id}", {"name": "a\u0000b"}, format="json")
    error = assert_error(response, 422, "validation_error")
    assert "name" in error["fields"]
    agent.refresh_from_db()
    assert agent.name == "Sales"


@pytest.mark.parametrize(
    "url, param",
    [
        ("/api/v1/numbers?search=55%00", "search"),
        ("/api/v1/numbers?status=active%00", "status"),
        ("/api/v1/numbers?voice_agent_id=1%00", "voice_agent_id"),
        ("/api/v1/trunks?search=a%00b", "search"),
        ("/api/v1/trunks?direction=inbound%00", "direction"),
        ("/api/v1/voice-agents?search=a%00b", "search"),
        ("/api/v1/text-agents?search=a%00b", "search"),
        ("/api/v1/numbers?page=1%00", "page"),
        ("/api/v1/numbers?per_page=1%00", "per_page"),
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_422_not_500(api, url, param):
    response = api.get(url)
    error = assert_error(response, 422, "validation_error")
    assert list(error["fields"]) == [param]


# --- 429 rate_limited ----------------------------------------------------------------------


def test_a_throttled_request_maps_to_429_with_retry_after():
    response = api_exception_handler(Throttled(wait=10), {})
    assert response.status_code == 429
    assert response.data == {"error": {"code": "rate_limited", "message": response.data["error"]["message"]}}
    assert int(response["Retry-After"]) >= 10


# --- 500 server_error ----------------------------------------------------------------------

SECRET = "database password is hunter2"


@pytest.fixture
def crashing_api(account) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(account=account, name='Crash').plaintext}")
    return client


def assert_no_traceback(response) -> None:
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", SECRET, 'File "', ".py"):
        assert leak not in text, text


def test_an_unexpected_error_in_a_view_is_a_json_500_without_a_traceback(crashing_api, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr("numbers_app.services.number_create", explode)
    with caplog.at_level(logging.ERROR):
        response = crashing_api.post("/api/v1/numbers", {"number": next_e164()}, format="json")
    assert_error(response, 500, "server_error")
    assert_no_traceback(response)
    assert not PhoneNumber.objects.exists()
    # Logged server-side, with the traceback, and with a request id the client can quote.
    records = [record for record in caplog.records if record.exc_info and record.exc_info[0] is RuntimeError]
    assert len(records) == 1
    request_id = response["X-Request-ID"]
    assert len(request_id) >= 8
    assert request_id in records[0].getMessage()
    assert request_id in response.json()["error"]["message"]


def test_an_unexpected_error_while_deleting_is_a_json_500(crashing_api, account, make_voice_agent, monkeypatch):
    agent = make_voice_agent(account)

    def explode(**kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr("agents_app.services.agent_delete", explode)
    response = crashing_api.delete(f"/api/v1/voice-agents/{agent.id}")
    assert_error(response, 500, "server_error")
    assert_no_traceback(response)
    assert VoiceAgent.objects.filter(pk=agent.pk).exists()


def _crash_outside_drf(request):
    raise RuntimeError(SECRET)


# A URLconf for the test below: the project's, plus a plain Django view that crashes.
urlpatterns = [path("api/v1/crash", _crash_outside_drf), *kalem_site.urls.urlpatterns]
handler404 = kalem_site.urls.handler404
handler500 = kalem_site.urls.handler500


def test_a_crash_outside_the_api_views_is_still_a_json_500(settings, caplog):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/crash")
    assert_error(response, 500, "server_error")
    assert_no_traceback(response)
    request_id = response["X-Request-ID"]
    assert request_id in response.json()["error"]["message"]
    assert any(request_id in record.getMessage() for record in caplog.records)


# --- trailing slashes ----------------------------------------------------------------------


def test_post_with_a_trailing_slash_creates_without_a_redirect(api):
    e164 = next_e164()
    response = api.post("/api/v1/numbers/", {"number": e164}, format="json")
    assert response.status_code == 201
    assert response.json()["number"] == e164
    assert response["Location"].endswith(f"/api/v1/numbers/{response.json()['id']}")
    assert PhoneNumber.objects.filter(number=e164).exists()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_with_a_trailing_slash_works_without_a_redirect(api, number, method):
    response = getattr(api, method)(f"/api/v1/numbers/{number.id}/", {"status": "inactive"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "inactive"
    number.refresh_from_db()
    assert number.status == "inactive"


def test_delete_with_a_trailing_slash_works_without_a_redirect(api, number):
    response = api.delete(f"/api/v1/numbers/{number.id}/")
    assert response.status_code == 204
    assert response.content == b""
    assert not PhoneNumber.objects.filter(pk=number.pk).exists()


def test_deactivate_with_a_trailing_slash_works_without_a_redirect(api, number):
    response = api.post("/api/v1/numbers/deactivate/", {"number": number.number}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "inactive"
    number.refresh_from_db()
    assert number.status == "inactive"


@pytest.mark.parametrize("resource", ["trunks", "voice-agents", "text-agents"])
def test_every_collection_accepts_a_trailing_slash(api, resource):
    body = {"name": "Slash", "direction": "inbound", "auth_type": "ip", "host": "10.0.0.1"}
    if resource != "trunks":
        body = {"name": "Slash"}
    created = api.post(f"/api/v1/{resource}/", body, format="json")
    assert created.status_code == 201
    listing = api.get(f"/api/v1/{resource}/")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["data"]] == [created.json()["id"]]
    deleted = api.delete(f"/api/v1/{resource}/{created.json()['id']}/")
    assert deleted.status_code == 204


# Regressions from review: races, content negotiation, chunked bodies, the docs page.


def test_any_accept_header_still_gets_json(api, account, make_number):
    make_number(account)
    for accept in ("text/html", "application/xml", "image/png", "*/*"):
        response = api.get("/api/v1/numbers", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.json()["meta"]["total"] == 1


def test_a_chunked_body_without_content_length_is_a_400_not_silently_dropped(api, account, make_number):
    number = make_number(account)
    response = api.generic(
        "PATCH",
        f"/api/v1/numbers/{number.id}",
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_read_only_token_with_a_wrong_method_gets_405_not_403(read_only_api):
    response = read_only_api.put("/api/v1/numbers", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_row_deleted_while_it_is_updated_is_a_404(api, account, make_number, monkeypatch):
    from numbers_app import services

    number = make_number(account)
    original = services.number_update

    def delete_first(*, number, **changes):
        type(number).objects.filter(pk=number.pk).delete()  # another request won the race
        return original(number=number, **changes)

    monkeypatch.setattr(services, "number_update", delete_first)
    response = api.patch(f"/api/v1/numbers/{number.id}", {"status": "inactive"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_database_rule_broken_by_a_concurrent_change_is_a_409(api, account, make_number, monkeypatch):
    from django.db import IntegrityError

    from numbers_app import services

    number = make_number(account)

    def concurrent_delete(**kwargs):
        raise IntegrityError("insert or update violates foreign key constraint")  # raised at COMMIT

    monkeypatch.setattr(services, "number_update", concurrent_delete)
    response = api.patch(f"/api/v1/numbers/{number.id}", {"status": "inactive"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_the_docs_page_answers_other_methods_with_a_json_405(client, db):
    response = client.post("/api/docs")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_the_schema_takes_a_trailing_slash_too(client, db):
    assert client.get("/api/v1/schema/").status_code == 200


@pytest.mark.parametrize(
    "method, path, query",
    [
        ("get", "/api/v1/numbers", "statuss=active"),
        ("get", "/api/v1/numbers", "=false"),
        ("get", "/api/v1/trunks", "status=active"),
        ("get", "/api/v1/numbers/lookup", "number=%2B15551234567&x=1"),
        ("delete", "/api/v1/voice-agents/1", "force=1"),
    ],
)
def test_a_query_parameter_the_route_does_not_take_is_a_422_naming_it(api, method, path, query):
    response = getattr(api, method)(f"{path}?{query}")
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert all(messages == ["Unknown query parameter."] for messages in fields.values())
    assert set(fields) <= {"statuss", "(empty name)", "status", "x", "force"}


def test_a_method_the_route_lacks_is_a_405_even_with_unknown_parameters(api):
    response = api.generic("TRACE", "/api/v1/numbers/lookup?number=&junk=1")
    assert response.status_code == 405
