"""The dashboard's Webhooks page (shared/WEBHOOKS.md §5), without JavaScript, and the
read-only admin."""

import pytest

from tests.helpers import assert_login_redirect, flashes, html
from webhooks_app import services
from webhooks_app.models import WebhookEndpoint, WebhookMessage

from .conftest import deliver_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert_login_redirect(client.get("/webhooks/"), "/webhooks/")


def test_adding_an_endpoint_shows_its_secret_once(signed_in, account, insecure):
    page = signed_in.get("/webhooks/")
    assert page.status_code == 200
    assert 'href="/webhooks/"' in html(page) and "No webhook endpoints yet" in html(page)
    response = signed_in.post(
        "/webhooks/add/",
        {"url": "http://127.0.0.1:9/hooks", "description": "dispatch", "events": ["number.assigned"], "enabled": "on"},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.account, endpoint.url, endpoint.events, endpoint.enabled) == (
        account,
        "http://127.0.0.1:9/hooks",
        ["number.assigned"],
        True,
    )
    secret = html(response).split('id="new-secret" class="mono" value="')[1].split('"')[0]
    assert secret.startswith("whsec_")
    detail = html(signed_in.get(f"/webhooks/{endpoint.pk}/"))
    assert secret not in detail and "dispatch" in detail
    assert secret not in html(signed_in.get("/webhooks/"))


def test_an_unsafe_url_is_shown_as_a_form_error(signed_in):
    response = signed_in.post("/webhooks/add/", {"url": "https://10.0.0.1/hooks"})
    assert response.status_code == 200
    assert "private address" in html(response)
    assert not WebhookEndpoint.objects.exists()


def test_edit_disable_enable_rotate_test_resend_and_delete(signed_in, account, insecure, receiver):
    endpoint, secret = services.endpoint_create(account=account, url=receiver.url)
    receiver.secrets.append(secret)
    response = signed_in.post(
        f"/webhooks/{endpoint.pk}/edit/", {"url": receiver.url, "description": "edited", "enabled": "on"}
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().description == "edited"

    response = signed_in.post(f"/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302 and "webhook.test" in flashes(response)[-1]
    deliver_all()
    [received] = receiver.wait_for(1)
    assert received.json["type"] == "webhook.test"
    message = WebhookMessage.objects.get()
    detail = html(signed_in.get(f"/webhooks/{endpoint.pk}/"))
    assert message.message_id in detail and "HTTP 200" in detail and "Resend" in detail

    response = signed_in.post(f"/webhooks/{endpoint.pk}/deliveries/{message.pk}/resend/")
    assert response.status_code == 302
    deliver_all()
    assert receiver.wait_for(2)[1].message_id == message.message_id

    rotated = signed_in.post(f"/webhooks/{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200
    new_secret = html(rotated).split('id="new-secret" class="mono" value="')[1].split('"')[0]
    assert new_secret.startswith("whsec_") and new_secret != secret

    assert signed_in.post(f"/webhooks/{endpoint.pk}/disable/").status_code == 302
    assert WebhookEndpoint.objects.get().enabled is False
    assert "Enable" in html(signed_in.get(f"/webhooks/{endpoint.pk}/"))
    assert signed_in.post(f"/webhooks/{endpoint.pk}/enable/").status_code == 302
    assert WebhookEndpoint.objects.get().enabled is True

    assert signed_in.get(f"/webhooks/{endpoint.pk}/delete/").status_code == 200
    assert signed_in.post(f"/webhooks/{endpoint.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_changes_need_post(signed_in, account, insecure):
    endpoint, _ = services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    for action in ("enable", "disable", "rotate-secret", "test"):
        assert signed_in.get(f"/webhooks/{endpoint.pk}/{action}/").status_code == 405


def test_another_accounts_endpoint_is_404_on_every_page(client, outsider, account, insecure):
    endpoint, _ = services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    message = services.endpoint_send_test(endpoint=endpoint)
    client.force_login(outsider)
    for path in (f"/webhooks/{endpoint.pk}/", f"/webhooks/{endpoint.pk}/edit/", f"/webhooks/{endpoint.pk}/delete/"):
        assert client.get(path).status_code == 404, path
    for action in ("enable", "disable", "rotate-secret", "test", "delete", "edit", f"deliveries/{message.pk}/resend"):
        assert client.post(f"/webhooks/{endpoint.pk}/{action}/", {"url": "http://127.0.0.1:9/x"}).status_code == 404
    assert endpoint.url not in html(client.get("/webhooks/"))
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:9/"


def test_staff_read_the_admin_without_secrets(client, django_user_model, account, insecure):
    endpoint, secret = services.endpoint_create(account=account, url="http://127.0.0.1:9/")
    staff = django_user_model.objects.create_user(username="staffer", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/webhooks_app/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.url in html(page)
    assert secret not in html(page) and endpoint.secret_encrypted not in html(page)
    assert client.get("/admin/webhooks_app/webhookendpoint/add/").status_code == 403
