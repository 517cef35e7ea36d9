import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from agents_app.models import VoiceAgent
from kalem_site.accounts.models import IDEMPOTENCY_LEASE, IdempotencyRecord
from kalem_site.api.idempotency import _fingerprint, lease_renewer
from numbers_app.models import PhoneNumber


def post(client, path, body, key, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_a_retry_replays_the_first_response_and_creates_nothing(api, account):
    first = post(api, "/api/v1/numbers", {"number": "+15551234567"}, "key-1")
    retry = post(api, "/api/v1/numbers", {"number": "+15551234567"}, "key-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert PhoneNumber.objects.filter(account=account).count() == 1


def test_a_replayed_validation_error_is_the_same_error(api, account):
    first = post(api, "/api/v1/voice-agents", {"name": ""}, "key-err")
    retry = post(api, "/api/v1/voice-agents", {"name": ""}, "key-err")
    assert first.status_code == retry.status_code == 422
    assert retry.json() == first.json()


def test_the_same_key_with_another_body_is_a_422(api, account):
    post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-2")
    response = post(api, "/api/v1/voice-agents", {"name": "Support"}, "key-2")
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert "Idempotency-Key" in body["error"]["fields"]
    assert list(VoiceAgent.objects.filter(account=account).values_list("name", flat=True)) == ["Sales"]


def test_the_same_key_on_another_path_is_a_422(api, account, make_number):
    number = make_number(account)
    post(api, "/api/v1/numbers/activate", {"number": number.number}, "key-3")
    response = post(api, "/api/v1/numbers/deactivate", {"number": number.number}, "key-3")
    assert response.status_code == 422
    number.refresh_from_db()
    assert number.status == "active"


def running_record(account, key: str, locked_until=None) -> IdempotencyRecord:
    """What the first request leaves behind while it is still running (its lease renewed
    until `locked_until`)."""
    request = SimpleNamespace(method="POST", path="/api/v1/voice-agents")
    return IdempotencyRecord.objects.create(
        account=account,
        key=key,
        fingerprint=_fingerprint(request, b'{"name": "Sales"}'),
        **({"locked_until": locked_until} if locked_until else {}),
    )


def test_a_retry_while_the_first_is_running_is_a_409(api, account):
    running_record(account, "key-4")
    response = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-4")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert not VoiceAgent.objects.filter(account=account).exists()


def test_a_first_attempt_whose_lease_ran_out_lets_the_retry_run(api, account):
    # The first attempt died a few seconds ago (no process renews its lease any more).
    running_record(account, "key-5", locked_until=timezone.now() - timedelta(seconds=1))
    response = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-5")
    assert response.status_code == 201
    assert VoiceAgent.objects.filter(account=account, name="Sales").count() == 1
    record = IdempotencyRecord.objects.get(account=account, key="key-5")
    assert record.status_code == 201


def test_a_first_attempt_started_long_ago_but_still_renewing_keeps_its_key(api, account):
    record = running_record(account, "key-5b")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    response = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-5b")
    assert response.status_code == 409
    assert not VoiceAgent.objects.filter(account=account).exists()


def test_keys_expire_after_24_hours(api, account):
    post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-6")
    IdempotencyRecord.objects.filter(key="key-6").update(created_at=timezone.now() - timedelta(hours=25))
    response = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-6")
    # Not a replay: the request ran again (and met the unique name rule).
    assert response.status_code == 422
    assert "Idempotent-Replayed" not in response
    assert response.json()["error"]["fields"]["name"]


def test_keys_of_one_account_are_invisible_to_another(api, outsider_api, account, other_account):
    mine = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "shared-key")
    theirs = post(outsider_api, "/api/v1/voice-agents", {"name": "Sales"}, "shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert VoiceAgent.objects.filter(account=other_account, name="Sales").exists()


def test_a_teammate_token_of_the_same_account_shares_the_keys(api, teammate_api, account):
    first = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "team-key")
    retry = post(teammate_api, "/api/v1/voice-agents", {"name": "Sales"}, "team-key")
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there"])
def test_a_malformed_key_is_a_422(api, key):
    response = post(api, "/api/v1/voice-agents", {"name": "Sales"}, key)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_without_a_key_every_post_runs(api, account):
    api.post("/api/v1/voice-agents", {"name": "A"}, format="json")
    api.post("/api/v1/voice-agents", {"name": "B"}, format="json")
    assert VoiceAgent.objects.filter(account=account).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_unauthenticated_and_read_only_requests_store_nothing(anonymous_api, read_only_api):
    assert post(anonymous_api, "/api/v1/voice-agents", {"name": "A"}, "k-anon").status_code == 401
    assert post(read_only_api, "/api/v1/voice-agents", {"name": "A"}, "k-ro").status_code == 403
    assert not IdempotencyRecord.objects.exists()


def test_a_server_error_is_not_stored_so_the_retry_runs(api, account, monkeypatch):
    from agents_app import services

    original = services.agent_create
    monkeypatch.setattr(services, "agent_create", lambda **kwargs: 1 / 0)
    failed = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-500")
    monkeypatch.setattr(services, "agent_create", original)
    retry = post(api, "/api/v1/voice-agents", {"name": "Sales"}, "key-500")
    assert failed.status_code == 500
    assert retry.status_code == 201


def test_an_oversized_body_with_a_key_is_a_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = post(api, "/api/v1/voice-agents", {"name": "x" * 200}, "key-big")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not IdempotencyRecord.objects.exists()


def test_expired_records_of_every_account_are_purged_by_the_periodic_task(api, account, other_account):
    from kalem_site.accounts.tasks import purge_idempotency_records

    old = timezone.now() - timedelta(hours=25)
    IdempotencyRecord.objects.create(account=other_account, key="old", fingerprint="x" * 64, created_at=old)
    fresh = IdempotencyRecord.objects.create(account=other_account, key="fresh", fingerprint="y" * 64)
    post(api, "/api/v1/voice-agents", {"name": "Sales"}, "new-key")
    # A request purges nothing but its own key's expired record.
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"old", fresh.key, "new-key"}

    assert purge_idempotency_records.call() == 1

    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {fresh.key, "new-key"}
    assert purge_idempotency_records.call() == 0


def test_a_malformed_key_without_a_token_is_a_401(anonymous_api, db):
    response = post(anonymous_api, "/api/v1/voice-agents", {"name": "Sales"}, "bad key")
    assert response.status_code == 401


def test_the_process_renews_the_leases_of_the_requests_it_runs(account):
    held, dropped = running_record(account, "held"), running_record(account, "dropped")
    past = timezone.now() - timedelta(seconds=1)
    IdempotencyRecord.objects.update(locked_until=past)
    lease_renewer.hold(held.pk)
    try:
        assert lease_renewer.renew() == 1
    finally:
        lease_renewer.release(held.pk)
    held.refresh_from_db()
    dropped.refresh_from_db()
    assert held.locked_until > timezone.now() + IDEMPOTENCY_LEASE - timedelta(seconds=5)
    assert dropped.locked_until == past
    assert lease_renewer.renew() == 0  # released: nothing held any more
