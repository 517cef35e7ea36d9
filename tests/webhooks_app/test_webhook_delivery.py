"""Delivery to a real receiver that verifies every signature with `standardwebhooks`
(shared/WEBHOOKS.md §2–§3): bodies, headers, retries, 410, Retry-After, rotation, tenant
isolation, the delivery-time SSRF check, the outbox's transaction."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kalem_site.actors import Actor
from numbers_app import services as number_services
from numbers_app.models import NumberEvent
from tests.contract import NUMBER_KEYS
from webhooks_app import delivery, services, ssrf
from webhooks_app.models import WebhookAttempt, WebhookEndpoint, WebhookMessage, WebhookOutbox
from webhooks_app.signing import ROTATION_OVERLAP

from .conftest import deliver_all, expand_all
from .receiver import Receiver

pytestmark = pytest.mark.django_db


def test_an_assignment_arrives_signed_with_the_event_and_the_number_after_it(
    api, account, receiver, endpoint_for, make_voice_agent
):
    sales, support = make_voice_agent(account, "Sales"), make_voice_agent(account, "Support")
    number = api.post("/api/v1/numbers", {"number": "+15551234567", "voice_agent_id": sales.pk}, format="json").json()
    endpoint = endpoint_for(events=["number.assigned"])
    response = api.patch(f"/api/v1/numbers/{number['id']}", {"voice_agent_id": support.pk}, format="json")
    assert response.status_code == 200
    assert deliver_all() == 1
    [received] = receiver.wait_for(1)
    assert received.verified_by == [endpoint["secret"]]
    assert received.message_id.startswith("msg_")
    assert received.headers["content-type"] == "application/json"
    assert "kalem" in received.headers["user-agent"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 30
    event = NumberEvent.objects.get(action="assigned")
    body = received.json
    assert body == {
        "type": "number.assigned",
        "timestamp": body["data"]["event"]["occurred_at"],
        "data": {
            "event": {
                "id": event.pk,
                "number_id": number["id"],
                "number": "+15551234567",
                "action": "assigned",
                "field": "voice_agent",
                "before": {"id": sales.pk, "name": "Sales"},
                "after": {"id": support.pk, "name": "Support"},
                "actor_type": "token",
                "actor_name": "Owner token",
                "channel": "api",
                "occurred_at": body["data"]["event"]["occurred_at"],
            },
            "number": response.json(),
        },
    }
    assert list(body["data"]["number"]) == NUMBER_KEYS
    message = WebhookMessage.objects.get()
    assert (message.status, message.attempts, message.last_status_code) == ("delivered", 1, 200)
    assert message.message_id == received.message_id and message.event_id == event.pk
    assert WebhookAttempt.objects.get().status_code == 200


def test_a_deleted_number_has_a_null_number(api, receiver, endpoint_for):
    number = api.post("/api/v1/numbers", {"number": "+15551234568"}, format="json").json()
    endpoint_for()
    assert api.delete(f"/api/v1/numbers/{number['id']}").status_code == 204
    deliver_all()
    [received] = receiver.wait_for(1)
    assert received.json["type"] == "number.deleted"
    assert received.json["data"]["number"] is None
    assert received.json["data"]["event"]["before"]["status"] == "active"


def test_endpoints_get_only_their_event_types_and_disabled_ones_nothing(api, insecure, endpoint_for):
    with Receiver() as created_only, Receiver() as everything, Receiver() as disabled:
        endpoint_for(created_only, events=["number.created"])
        endpoint_for(everything)
        off = endpoint_for(disabled)
        api.patch(f"/api/v1/webhooks/{off['id']}", {"enabled": False}, format="json")
        number = api.post("/api/v1/numbers", {"number": "+15551234569"}, format="json").json()
        api.post("/api/v1/numbers/deactivate", {"number": number["number"]}, format="json")
        deliver_all()
        assert [r.json["type"] for r in created_only.wait_for(1)] == ["number.created"]
        assert sorted(r.json["type"] for r in everything.wait_for(2)) == ["number.created", "number.deactivated"]
        assert disabled.received == [] and disabled.unverified == []
    assert not WebhookMessage.objects.filter(endpoint_id=off["id"]).exists()


def test_a_bulk_change_writes_its_messages_in_a_few_statements(
    api, account, receiver, endpoint_for, make_number, make_voice_agent, django_assert_max_num_queries
):
    agent = make_voice_agent(account, "Support")
    numbers = [make_number(account) for _ in range(300)]
    endpoint_for()
    with django_assert_max_num_queries(25):
        response = api.post(
            "/api/v1/numbers/bulk",
            {"action": "assign", "ids": [n.pk for n in numbers], "voice_agent_id": agent.pk},
            format="json",
        )
    assert response.json()["changed"] == 300
    assert WebhookOutbox.objects.count() == 1  # one row lists the 300 events
    expand_all()
    assert WebhookMessage.objects.count() == 300
    events = dict(NumberEvent.objects.values_list("number_id", "id"))
    deliver_all()
    received = receiver.wait_for(300)
    assert {r.json["data"]["event"]["id"] for r in received} == set(events.values())
    for r in received:
        assert r.json["data"]["number"]["voice_agent_name"] == "Support"
        assert r.json["data"]["event"]["id"] == events[r.json["data"]["number"]["id"]]


def test_without_endpoints_a_bulk_change_costs_one_more_query(api, account, make_number, django_assert_num_queries):
    numbers = [make_number(account) for _ in range(5)]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        api.post("/api/v1/numbers/bulk", {"action": "deactivate", "ids": [n.pk for n in numbers]}, format="json")
    webhook_queries = [q["sql"] for q in queries.captured_queries if "webhooks_app" in q["sql"]]
    assert len(webhook_queries) == 1
    assert not WebhookMessage.objects.exists()


def test_a_change_that_rolls_back_has_no_messages(account, receiver, endpoint_for):
    endpoint_for()
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            number_services.number_create(actor=Actor.for_command("t"), account=account, number="+15551234570")
            assert WebhookOutbox.objects.count() == 1
            raise RuntimeError("roll back")
    assert not WebhookOutbox.objects.exists()
    expand_all()
    assert not WebhookMessage.objects.exists()


def test_it_retries_until_the_receiver_succeeds(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 1, 1]
    with Receiver(responses=[(500, {}), (502, {})]) as flaky:
        endpoint = endpoint_for(flaky)
        api.post("/api/v1/numbers", {"number": "+15551234571"}, format="json")
        for _ in range(3):
            deliver_all()
            time.sleep(1.1)
        received = flaky.wait_for(3)
    assert len({r.message_id for r in received}) == 1  # the same webhook-id every time
    message = WebhookMessage.objects.get()
    assert (message.status, message.attempts, message.last_status_code) == ("delivered", 3, 200)
    log = API_DELIVERY(api, endpoint["id"], message.pk)
    assert [a["status_code"] for a in log["attempts_log"]] == [500, 502, 200]
    assert log["attempts_log"][0]["response_excerpt"] == '{"ok": true}'


def API_DELIVERY(api, endpoint_id, delivery_id) -> dict:
    response = api.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}")
    assert response.status_code == 200
    return response.json()


def test_a_message_that_always_fails_ends_failed_after_its_last_attempt(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 1, 1]
    with Receiver(default=500) as broken:
        endpoint = endpoint_for(broken)
        api.post("/api/v1/numbers", {"number": "+15551234572"}, format="json")
        for _ in range(4):
            deliver_all()
            time.sleep(1.1)
        assert len(broken.wait_for(3)) == 3
    message = WebhookMessage.objects.get()
    assert (message.status, message.attempts, message.next_attempt_at) == ("failed", 3, None)
    listed = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=failed").json()["data"]
    assert [(d["id"], d["attempts"], d["last_status_code"]) for d in listed] == [(message.pk, 3, 500)]
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=delivered").json()["data"] == []
    assert WebhookEndpoint.objects.get().enabled is True  # not yet 5 days


def test_410_disables_the_endpoint_at_once(api, insecure, endpoint_for):
    with Receiver(default=410) as gone:
        endpoint = endpoint_for(gone)
        api.post("/api/v1/numbers", {"number": "+15551234573"}, format="json")
        api.post("/api/v1/numbers", {"number": "+15551234574"}, format="json")
        services.deliver_due_messages(limit=1)
        assert len(gone.wait_for(1)) == 1
        deliver_all()
        time.sleep(0.2)
        assert len(gone.received) == 1  # the other message is not sent
    body = api.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert body["enabled"] is False
    assert "410" in body["disabled_reason"]
    assert sorted(WebhookMessage.objects.values_list("status", flat=True)) == ["failed", "failed"]
    # Nothing new is written for it, and re-enabling does not replay.
    api.post("/api/v1/numbers", {"number": "+15551234575"}, format="json")
    assert WebhookMessage.objects.count() == 2
    api.patch(f"/api/v1/webhooks/{endpoint['id']}", {"enabled": True}, format="json")
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}").json()["disabled_reason"] is None
    assert deliver_all() == 0


def test_a_retry_after_delays_the_next_attempt(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 1, 1]
    with Receiver(responses=[(429, {"Retry-After": "120"})]) as busy:
        endpoint_for(busy)
        api.post("/api/v1/numbers", {"number": "+15551234576"}, format="json")
        deliver_all()
        busy.wait_for(1)
    message = WebhookMessage.objects.get()
    assert message.status == "pending"
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=115)


def test_an_endpoint_failing_for_5_days_is_disabled(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 1]
    with Receiver(default=500) as broken:
        endpoint = endpoint_for(broken)
        WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
            failing_since=timezone.now() - timedelta(days=5, minutes=1)
        )
        api.post("/api/v1/numbers", {"number": "+15551234577"}, format="json")
        deliver_all()
        broken.wait_for(1)
    body = api.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert body["enabled"] is False and "5 days" in body["disabled_reason"]
    assert WebhookMessage.objects.get().status == "failed"


def test_a_success_resets_the_failing_clock(api, insecure, endpoint_for, receiver):
    endpoint = endpoint_for()
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(failing_since=timezone.now() - timedelta(days=4))
    api.post("/api/v1/numbers", {"number": "+15551234578"}, format="json")
    deliver_all()
    stored = WebhookEndpoint.objects.get()
    assert stored.failing_since is None and stored.last_success_at is not None


def test_during_the_overlap_both_secrets_sign_each_verifying_alone(api, receiver, endpoint_for):
    endpoint = endpoint_for()
    rotated = api.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"] and new_secret.startswith("whsec_")
    receiver.secrets.append(new_secret)
    api.post("/api/v1/numbers", {"number": "+15551234579"}, format="json")
    deliver_all()
    [received] = receiver.wait_for(1)
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert received.verified_by == [endpoint["secret"], new_secret]
    # After 24 hours only the new one signs.
    WebhookEndpoint.objects.update(rotated_at=timezone.now() - ROTATION_OVERLAP - timedelta(seconds=1))
    api.post("/api/v1/numbers", {"number": "+15551234580"}, format="json")
    deliver_all()
    second = receiver.wait_for(2)[1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    assert second.verified_by == [new_secret]


def test_another_accounts_events_never_reach_this_accounts_endpoints(api, outsider_api, receiver, endpoint_for):
    endpoint_for()
    outsider_api.post("/api/v1/numbers", {"number": "+15551234581"}, format="json")
    assert not WebhookMessage.objects.exists()
    api.post("/api/v1/numbers", {"number": "+15551234582"}, format="json")
    deliver_all()
    assert [r.json["data"]["event"]["number"] for r in receiver.wait_for(1)] == ["+15551234582"]


def test_delivery_checks_the_address_again(api, settings, endpoint_for):
    """An endpoint saved while its host resolved to a public address, which now resolves to
    a loopback one (DNS rebinding): refused at delivery, nothing is sent."""
    settings.WEBHOOK_ALLOW_INSECURE = True
    with Receiver() as target:
        endpoint = endpoint_for(target)
        WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(
            url=target.url.replace("http://127.0.0.1", "https://localhost")
        )
        settings.WEBHOOK_ALLOW_INSECURE = False
        api.post("/api/v1/numbers", {"number": "+15551234583"}, format="json")
        assert deliver_all() == 1
        time.sleep(0.2)
        assert target.received == [] and target.unverified == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "loopback" in attempt.error
    assert WebhookMessage.objects.get().status == "pending"  # retried later, refused again


def test_the_test_message_and_resend(api, receiver, endpoint_for):
    endpoint = endpoint_for()
    response = api.post(f"/api/v1/webhooks/{endpoint['id']}/test")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    deliver_all()
    [first] = receiver.wait_for(1)
    assert first.json["type"] == "webhook.test"
    assert first.message_id == response.json()["message_id"]
    [delivery] = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?event_type=webhook.test").json()["data"]
    assert delivery["status"] == "delivered" and delivery["event_id"] is None
    resent = api.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/resend")
    assert resent.status_code == 202
    assert WebhookMessage.objects.get().status == "pending"
    deliver_all()
    second = receiver.wait_for(2)[1]
    assert second.message_id == first.message_id  # the same webhook-id
    detail = API_DELIVERY(api, endpoint["id"], delivery["id"])
    assert detail["attempts"] == 2 and detail["status"] == "delivered"
    assert len(detail["attempts_log"]) == 2


def test_deliveries_filters_are_validated(api, receiver, endpoint_for):
    endpoint = endpoint_for()
    response = api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries?status=lost")
    assert response.status_code == 422
    assert "status" in response.json()["error"]["fields"]
    assert api.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries/999999").status_code == 404


def test_a_redirect_is_a_failure_and_is_not_followed(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 60]
    with Receiver(responses=[(307, {"Location": "http://127.0.0.1:9/elsewhere"})]) as moved:
        endpoint_for(moved)
        api.post("/api/v1/numbers", {"number": "+15551234584"}, format="json")
        deliver_all()
        assert len(moved.wait_for(1)) == 1
    message = WebhookMessage.objects.get()
    assert (message.status, message.attempts, message.last_status_code) == ("pending", 1, 307)
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=55)
    assert WebhookAttempt.objects.get().status_code == 307


def test_an_absurd_retry_after_is_capped(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [0, 1]
    with Receiver(responses=[(503, {"Retry-After": "9" * 400})]) as busy:
        endpoint_for(busy)
        api.post("/api/v1/numbers", {"number": "+15551234585"}, format="json")
        deliver_all()
        busy.wait_for(1)
    message = WebhookMessage.objects.get()
    assert message.status == "pending"
    assert timezone.now() + timedelta(days=4) < message.next_attempt_at <= timezone.now() + timedelta(days=5)


def test_a_leased_message_waits_for_its_lease_to_run_out(api, receiver, endpoint_for):
    endpoint_for()
    api.post("/api/v1/numbers", {"number": "+15551234586"}, format="json")
    expand_all()
    # Claimed by a worker that then died mid-delivery.
    WebhookMessage.objects.update(locked_until=timezone.now() + timedelta(seconds=60))
    assert deliver_all() == 0
    assert receiver.received == []
    WebhookMessage.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert deliver_all() == 1
    [received] = receiver.wait_for(1)
    assert received.message_id == WebhookMessage.objects.get().message_id
    assert services.lease_seconds(50) == 2 * 15 + 10
    assert services.lease_seconds(51) == 2 * (2 * 15) + 10


def test_an_attempt_that_fails_unexpectedly_is_a_failed_attempt_and_spares_the_others(
    api, settings, insecure, endpoint_for, monkeypatch
):
    """Whatever goes wrong inside one attempt is that attempt's failure, logged and retried:
    never an error that loses the batch (the others' attempts unrecorded, sent again)."""
    settings.WEBHOOK_RETRY_DELAYS = [0, 60]
    real = delivery.parse_retry_after

    def breaks_on_503s(value):
        if value == "soon":
            raise RuntimeError("unexpected")
        return real(value)

    monkeypatch.setattr(delivery, "parse_retry_after", breaks_on_503s)
    with Receiver() as good, Receiver(default=503, responses=[(503, {"Retry-After": "soon"})]) as bad:
        good_endpoint, bad_endpoint = endpoint_for(good), endpoint_for(bad)
        api.post("/api/v1/numbers", {"number": "+15551234590"}, format="json")
        deliver_all()
        good.wait_for(1)
        bad.wait_for(1)
    assert WebhookMessage.objects.get(endpoint_id=good_endpoint["id"]).status == "delivered"
    failed = WebhookMessage.objects.get(endpoint_id=bad_endpoint["id"])
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.next_attempt_at > timezone.now() + timedelta(seconds=50)  # the schedule's next
    attempt = WebhookAttempt.objects.get(message=failed)
    assert attempt.status_code is None and attempt.error == "Could not send: RuntimeError: unexpected"
    assert len(good.received) == 1  # sent once, not again with a lost batch


def test_a_retry_after_of_other_digits_is_ignored():
    assert delivery.parse_retry_after("\u00b2") is None  # "²": str.isdigit() says yes
    assert delivery.parse_retry_after("\u0661\u0662") is None  # Arabic-Indic digits
    assert delivery.parse_retry_after(" 12 ") == 12.0


def test_the_answer_is_asked_uncompressed_and_kept_as_text(api, insecure, endpoint_for):
    with Receiver(payload=b'{"a": "\x00\xff"}') as odd:
        endpoint = endpoint_for(odd)
        api.post("/api/v1/numbers", {"number": "+15551234591"}, format="json")
        deliver_all()
        received = odd.wait_for(1)
    assert received[0].headers["accept-encoding"] == "identity"
    message = WebhookMessage.objects.get()
    excerpt = API_DELIVERY(api, endpoint["id"], message.pk)["attempts_log"][0]["response_excerpt"]
    assert excerpt == '{"a": "\ufffd\ufffd"}'  # NUL, which PostgreSQL's text refuses, and a non-UTF-8 byte


def test_the_timeout_bounds_the_whole_attempt(api, settings, insecure, endpoint_for):
    """WEBHOOK_TIMEOUT is per attempt: an answer dribbled a byte at a time, each within the
    timeout, is cut off when the attempt's time is up."""
    settings.WEBHOOK_TIMEOUT = 1
    with Receiver(payload=b"x" * 12, drip=0.25) as slow:
        endpoint_for(slow)
        api.post("/api/v1/numbers", {"number": "+15551234592"}, format="json")
        started = time.monotonic()
        deliver_all()
        took = time.monotonic() - started
        slow.wait_for(1)
    attempt = WebhookAttempt.objects.get()
    assert attempt.error == "Timed out after 1 s."
    assert attempt.status_code is None
    assert 0.9 <= attempt.duration_ms / 1000 < 2 and took < 2.5  # not the 3 s the answer takes


def test_the_first_delay_of_the_schedule_applies_to_new_messages(api, settings, insecure, endpoint_for):
    settings.WEBHOOK_RETRY_DELAYS = [30, 1]
    with Receiver() as later:
        endpoint_for(later)
        api.post("/api/v1/numbers", {"number": "+15551234593"}, format="json")
        assert deliver_all() == 0
        message = WebhookMessage.objects.get()
        assert message.next_attempt_at >= timezone.now() + timedelta(seconds=25)
        WebhookMessage.objects.update(next_attempt_at=timezone.now())
        assert deliver_all() == 1
        later.wait_for(1)


def test_an_internationalised_host_is_checked_and_sent_as_its_ascii_form():
    assert ssrf.check_syntax("https://B\u00fccher.example/hooks") == ("https", "xn--bcher-kva.example", 443)
