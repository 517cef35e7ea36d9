"""/api/v1/webhooks: list, create, get, update, delete (shared/WEBHOOKS.md §1)."""

import re

import pytest

from numbers_app.models import NumberEvent
from webhooks_app.models import EVENT_TYPES, WebhookEndpoint, WebhookMessage, WebhookOutbox
from webhooks_app.outbox import expand_outbox
from webhooks_app.services import MAX_ENDPOINTS

pytestmark = pytest.mark.django_db

ENDPOINT_KEYS = ["id", "url", "description", "events", "enabled", "disabled_reason", "created_at", "updated_at"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]+=*$")


def test_it_creates_an_endpoint_and_shows_its_secret_once(api, account, insecure):
    response = api.post(
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hooks", "description": "dispatch sync", "events": ["number.assigned"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [*ENDPOINT_KEYS, "secret"]
    assert body["url"] == "http://127.0.0.1:9/hooks"
    assert body["description"] == "dispatch sync"
    assert body["events"] == ["number.assigned"]
    assert body["enabled"] is True and body["disabled_reason"] is None
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])
    assert SECRET.match(body["secret"])
    import base64

    assert 24 <= len(base64.b64decode(body["secret"].removeprefix("whsec_"))) <= 64
    assert response["Location"].endswith(f"/api/v1/webhooks/{body['id']}")
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.account == account
    assert body["secret"] not in endpoint.secret_encrypted  # stored encrypted only

    again = api.get(f"/api/v1/webhooks/{body['id']}")
    assert again.status_code == 200
    assert list(again.json()) == ENDPOINT_KEYS  # never shown again
    listed = api.get("/api/v1/webhooks").json()
    assert [item["id"] for item in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]


def test_events_default_to_all(api, insecure):
    body = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json").json()
    assert body["events"] == []


def test_it_refuses_unknown_event_types(api, insecure):
    response = api.post(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/", "events": ["number.exploded"]}, format="json"
    )
    assert response.status_code == 422
    assert "events" in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_url_is_required(api):
    response = api.post("/api/v1/webhooks", {"description": "x"}, format="json")
    assert response.status_code == 422
    assert "url" in response.json()["error"]["fields"]


def test_all_event_types_are_accepted(api, insecure):
    response = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/", "events": EVENT_TYPES}, format="json")
    assert response.status_code == 201
    assert response.json()["events"] == EVENT_TYPES


def test_it_allows_at_most_20_endpoints(api, insecure):
    for _ in range(MAX_ENDPOINTS):
        assert api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json").status_code == 201
    response = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json")
    assert response.status_code == 422
    assert "at most 20" in response.json()["error"]["fields"]["url"][0]
    assert WebhookEndpoint.objects.count() == MAX_ENDPOINTS


def test_it_updates_an_endpoint_partially(api, insecure):
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    response = api.patch(
        f"/api/v1/webhooks/{created['id']}", {"events": ["number.created"], "enabled": False}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ENDPOINT_KEYS
    assert body["url"] == "http://127.0.0.1:9/a"
    assert body["events"] == ["number.created"] and body["enabled"] is False
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.events == ["number.created"] and endpoint.enabled is False


def test_enabled_must_be_a_boolean(api, insecure):
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    response = api.patch(f"/api/v1/webhooks/{created['id']}", {"enabled": "false"}, format="json")
    assert response.status_code == 422
    assert WebhookEndpoint.objects.get(pk=created["id"]).enabled is True


def test_deleting_drops_its_pending_messages(api, account, insecure, make_number):
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    api.post("/api/v1/numbers", {"number": "+15550001111"}, format="json")
    api.post("/api/v1/numbers", {"number": "+15550001112"}, format="json")
    assert WebhookOutbox.objects.filter(endpoint_id=created["id"]).count() == 2
    assert expand_outbox(limit=1) == 1  # one made into its message, one still in the outbox
    assert WebhookMessage.objects.filter(endpoint_id=created["id"]).count() == 1
    response = api.delete(f"/api/v1/webhooks/{created['id']}")
    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookMessage.objects.exists() and not WebhookOutbox.objects.exists()
    assert NumberEvent.objects.count() == 2  # the audit timeline is untouched


def test_a_read_only_token_may_read_but_not_write(api, read_only_api, insecure):
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    assert read_only_api.get("/api/v1/webhooks").status_code == 200
    assert read_only_api.get(f"/api/v1/webhooks/{created['id']}").status_code == 200
    assert read_only_api.get(f"/api/v1/webhooks/{created['id']}/deliveries").status_code == 200
    for method, path in [
        ("post", "/api/v1/webhooks"),
        ("patch", f"/api/v1/webhooks/{created['id']}"),
        ("delete", f"/api/v1/webhooks/{created['id']}"),
        ("post", f"/api/v1/webhooks/{created['id']}/rotate-secret"),
        ("post", f"/api/v1/webhooks/{created['id']}/test"),
    ]:
        response = getattr(read_only_api, method)(path, {"url": "http://127.0.0.1:9/b"}, format="json")
        assert response.status_code == 403, (method, path)
    assert WebhookEndpoint.objects.count() == 1
    assert not WebhookMessage.objects.exists()


def test_another_accounts_token_gets_404_on_every_route(api, outsider_api, insecure):
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    api.post(f"/api/v1/webhooks/{created['id']}/test")
    delivery = WebhookMessage.objects.get().pk
    base = f"/api/v1/webhooks/{created['id']}"
    for method, path in [
        ("get", base),
        ("patch", base),
        ("put", base),
        ("delete", base),
        ("post", f"{base}/rotate-secret"),
        ("post", f"{base}/test"),
        ("get", f"{base}/deliveries"),
        ("get", f"{base}/deliveries/{delivery}"),
        ("post", f"{base}/deliveries/{delivery}/resend"),
    ]:
        data = {} if method == "get" else {"description": "mine now"}
        response = getattr(outsider_api, method)(path, data, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert outsider_api.get("/api/v1/webhooks").json()["data"] == []
    assert WebhookEndpoint.objects.get().description == ""
    assert WebhookMessage.objects.count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://192.168.1.10/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[2002:7f00:1::1]/hooks",  # 6to4 around 127.0.0.1
        "https://[2002:a00:1::1]/hooks",  # 6to4 around 10.0.0.1
        "https://[fec0::1]/hooks",  # site-local
        "https://hooks.example.com/x\x01",  # a control character the HTTP client cannot send
        "https://hooks.example.com/x\x7f",
        "https://hooks.example.com/x\x9b",  # a C1 control character
        "https://hooks.example.com/x\u200b",  # a zero-width space
        "https://hooks.exa mple.com/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://localhost/hooks",  # a name that resolves to 127.0.0.1
        "https://user:pass@hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://" + "a" * 2000 + ".com/",
        "not a url",
    ],
)
def test_it_refuses_unsafe_urls(api, url):
    response = api.post("/api/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 422, response.content
    assert "url" in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_update_to_an_unsafe_url_is_refused(api, settings):
    settings.WEBHOOK_ALLOW_INSECURE = True
    created = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/a"}, format="json").json()
    settings.WEBHOOK_ALLOW_INSECURE = False
    response = api.patch(f"/api/v1/webhooks/{created['id']}", {"url": "https://10.1.2.3/"}, format="json")
    assert response.status_code == 422
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:9/a"


def test_without_a_credentials_key_create_is_refused_with_a_reason(api, settings, insecure):
    settings.CREDENTIALS_KEY = ""
    response = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json")
    assert response.status_code == 422
    assert "CREDENTIALS_KEY" in str(response.json()["error"])
    assert not WebhookEndpoint.objects.exists()


def test_an_idempotent_replay_of_create_does_not_keep_or_show_the_secret(api, insecure):
    from kalem_site.accounts.models import IdempotencyRecord

    headers = {"HTTP_IDEMPOTENCY_KEY": "create-hook-1"}
    first = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json", **headers)
    assert first.status_code == 201
    assert first["Cache-Control"] == "no-store"
    secret = first.json()["secret"]
    replay = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/"}, format="json", **headers)
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {key: value for key, value in first.json().items() if key != "secret"}
    assert WebhookEndpoint.objects.count() == 1
    assert secret.encode() not in bytes(IdempotencyRecord.objects.get().response_body)
