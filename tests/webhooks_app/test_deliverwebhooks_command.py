"""`manage.py deliverwebhooks --once`: delivers what is due, then exits."""

import pytest
from django.core.management import call_command

from webhooks_app.models import WebhookMessage

pytestmark = pytest.mark.django_db


def test_once_delivers_what_is_due_and_exits(api, receiver, endpoint_for):
    endpoint_for()
    for number in ("+15551234590", "+15551234591"):
        api.post("/api/v1/numbers", {"number": number}, format="json")
    call_command("deliverwebhooks", "--once")
    assert len(receiver.wait_for(2)) == 2
    assert set(WebhookMessage.objects.values_list("status", flat=True)) == {"delivered"}
