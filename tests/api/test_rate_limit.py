"""Rate limits in one process; tests/api/test_rate_limit_workers.py checks them across
gunicorn workers and instances."""

import logging
import socket
import time

import pytest

from agents_app.models import VoiceAgent
from kalem_site.accounts.models import RateLimitCounter
from kalem_site.accounts.services import token_create
from kalem_site.rates import Rate, parse_rate
from tests.helpers import client_for


@pytest.fixture
def limited(settings):
    settings.API_RATE_LIMIT = "3/minute"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1000/hour", Rate(1000, 3600)),
        ("60/minute", Rate(60, 60)),
        ("5/second", Rate(5, 1)),
        ("10/5minutes", Rate(10, 300)),
        ("2/day", Rate(2, 86400)),
        ("off", None),
    ],
)
def test_it_parses_rates(value, expected):
    assert parse_rate(value) == expected


@pytest.mark.parametrize("value", ["1000", "0/hour", "x/hour", "10/fortnight", "-1/hour", "10/0minutes", "10/00second"])
def test_it_refuses_a_malformed_rate(value):
    with pytest.raises(ValueError):
        parse_rate(value)


def test_every_api_response_carries_the_limit_headers(api, limited):
    response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "2"
    reset = int(response["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 60


def test_over_the_limit_is_a_429_in_the_envelope_with_retry_after(api, limited):
    statuses = [api.get("/api/v1/numbers").status_code for _ in range(3)]
    response = api.get("/api/v1/numbers")
    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert response.json() == {"error": {"code": "rate_limited", "message": "Rate limit of 3 requests exceeded."}}
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Remaining"] == "0"


def test_a_limited_write_changes_nothing(api, limited, account):
    for _ in range(3):
        api.get("/api/v1/numbers")
    response = api.post("/api/v1/voice-agents", {"name": "Late"}, format="json")
    assert response.status_code == 429
    assert not VoiceAgent.objects.filter(account=account, name="Late").exists()
    assert RateLimitCounter.objects.get().count == 4


def test_each_token_has_its_own_budget(api, limited, account):
    for _ in range(4):
        api.get("/api/v1/numbers")
    other = client_for(token_create(account=account, name="Second").plaintext)
    assert other.get("/api/v1/numbers").status_code == 200


def test_requests_without_a_token_are_limited_per_address(db, anonymous_api, limited):
    statuses = [anonymous_api.get("/api/v1/numbers").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_the_dashboard_is_not_rate_limited(client, limited):
    statuses = {client.get("/login/").status_code for _ in range(5)}
    assert statuses == {200}
    assert "X-RateLimit-Limit" not in client.get("/login/")


def test_off_disables_it(api, settings):
    settings.API_RATE_LIMIT = "off"
    response = api.get("/api/v1/numbers")
    assert "X-RateLimit-Limit" not in response


def test_a_new_window_starts_a_new_count(api, limited, monkeypatch):
    for _ in range(4):
        api.get("/api/v1/numbers")
    later = time.time() + 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "2"


def test_an_unavailable_counter_lets_requests_through(api, limited, monkeypatch):
    from kalem_site.api import ratelimit

    def down(*args, **kwargs):
        raise ConnectionError("counter store down")

    monkeypatch.setattr(ratelimit, "_count_in_database", down)
    response = api.get("/api/v1/numbers")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "3"


@pytest.mark.parametrize("spelling", ["Bearer {}", "bearer {}", "BEARER  {}", "  Bearer {}  "])
def test_one_token_is_one_budget_however_the_header_is_spelt(account, limited, spelling):
    from rest_framework.test import APIClient

    plaintext = token_create(account=account, name="Spelt").plaintext
    statuses = []
    for form in ["Bearer {}", spelling, spelling, spelling]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=form.format(plaintext))
        statuses.append(client.get("/api/v1/numbers").status_code)
    assert statuses == [200, 200, 200, 429]


@pytest.fixture
def frozen_redis(settings, monkeypatch):
    """A Redis URL whose server accepts connections and never answers (as a SIGSTOPped
    redis-server does: the kernel completes the handshake, nothing replies)."""
    from kalem_site.api import ratelimit

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        settings.REDIS_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
        settings.REDIS_SOCKET_TIMEOUT = 0.2
        monkeypatch.setattr(ratelimit, "_redis_client", None)
        monkeypatch.setattr(ratelimit, "outage_log", ratelimit._OutageLog(60))
        yield
    monkeypatch.setattr(ratelimit, "_redis_client", None)


def test_a_frozen_redis_costs_a_request_its_socket_timeout_and_is_logged_once(api, limited, frozen_redis, caplog):
    caplog.set_level(logging.WARNING, logger="kalem_site.api")
    for _ in range(3):
        started = time.monotonic()
        response = api.get("/api/v1/numbers")
        assert time.monotonic() - started < 1.5
        assert response.status_code == 200
        assert response["X-RateLimit-Remaining"] == "3"  # not counted
    warnings = [record for record in caplog.records if "Rate limit counter unavailable" in record.getMessage()]
    assert len(warnings) == 1
    assert "TimeoutError" in warnings[0].getMessage()


def test_the_outage_log_says_how_many_requests_went_uncounted(monkeypatch, caplog):
    from kalem_site.api import ratelimit

    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    log = ratelimit._OutageLog(60)
    caplog.set_level(logging.WARNING, logger="kalem_site.api")
    for _ in range(5):
        log.failed(ConnectionError("down"))
    now[0] += 61
    log.failed(ConnectionError("down"))
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "1 request(s) not counted" in messages[0]
    assert "5 request(s) not counted" in messages[1]
