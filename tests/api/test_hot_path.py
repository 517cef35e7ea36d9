"""The API's hot path (issue 14): the lean middleware stack of /api/, the renderer writing
datetimes as format_timestamp() does, and on PostgreSQL the backend's prepared statements,
psycopg's timestamp loader and the health check without a round trip; the lookup's check of
its number without building a serializer."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django.test import Client
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from kalem_site.api.renderers import ORJSONRenderer
from kalem_site.timestamps import format_timestamp
from numbers_app.api.serializers import NumberLookupSerializer
from numbers_app.hot_reads import number_row_by_number

ROOT = Path(__file__).resolve().parents[2]


# --- the lean stack ------------------------------------------------------------------------


def test_api_requests_skip_the_session_auth_messages_and_csrf_middleware(api, account, make_number):
    number = make_number(account)
    request = api.get(f"/api/v1/numbers/{number.id}").wsgi_request
    for attribute in ("session", "_messages", "csrf_cookie_needs_reset"):
        assert not hasattr(request, attribute), attribute
    assert "CSRF_COOKIE" not in request.META


def test_dashboard_requests_keep_the_whole_stack(owner_client):
    request = owner_client.get("/numbers/").wsgi_request
    assert hasattr(request, "session") and hasattr(request, "_messages")
    assert request.user.is_authenticated


def test_the_dashboard_still_enforces_csrf(owner):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert response.status_code == 403


def test_the_api_stack_is_security_common_xframe_rate_limit_and_idempotency():
    assert settings.API_MIDDLEWARE == [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "kalem_site.api.ratelimit.RateLimitMiddleware",
        "kalem_site.api.idempotency.IdempotencyMiddleware",
    ]
    # Django's checks find its own middleware by name: they must still be there for them.
    for name in (
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "axes.middleware.AxesMiddleware",
    ):
        assert name in settings.MIDDLEWARE


def test_the_api_docs_page_is_served_through_the_lean_stack(anonymous_api):
    response = anonymous_api.get("/api/docs")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# --- datetimes ------------------------------------------------------------------------------


@pytest.mark.parametrize("microsecond", [0, 1, 500000, 999999])
def test_the_renderer_writes_utc_datetimes_as_format_timestamp_does(microsecond):
    value = datetime.datetime(2025, 1, 15, 10, 30, 0, microsecond, tzinfo=datetime.UTC)
    assert ORJSONRenderer().render({"at": value}) == f'{{"at":"{format_timestamp(value)}"}}'.encode()


def test_the_renderers_fallback_writes_datetimes_as_format_timestamp_does():
    value = datetime.datetime(2025, 1, 15, 10, 30, 0, 250000, tzinfo=datetime.UTC)
    # 2**64 is beyond orjson: the json module writes the body, the datetime the same.
    assert (
        ORJSONRenderer().render({"n": 2**64, "at": value})
        == b'{"n":18446744073709551616,"at":"2025-01-15T10:30:00+00:00"}'
    )


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_timestamps_are_loaded_by_psycopgs_own_loader_in_utc(account, make_number):
    number = make_number(account)
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(
        psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
    )
    # psycopg's own (its C version: requirements.txt installs psycopg[binary]), not Django's
    # Python subclass, which re-stamps every value with a zone.
    assert loader.__name__ == "TimestamptzLoader" and loader.__module__.startswith("psycopg_binary")
    assert not issubclass(loader, BaseTzLoader)
    row = number_row_by_number(account_id=account.id, number=number.number)
    assert row["created_at"].utcoffset() == datetime.timedelta(0)
    assert row["created_at"] == number.created_at


@pytest.mark.postgres_only
def test_the_compiled_queries_are_prepared_from_their_second_run(account, make_number):
    number = make_number(account)
    for _ in range(3):
        number_row_by_number(account_id=account.id, number=number.number)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"numbers_app_phonenumber"."number" = $' in statement for statement in prepared), prepared


@pytest.mark.postgres_only
def test_db_prepared_statements_0_turns_preparing_off():
    def threshold(value: str) -> str:
        env = {**os.environ, "DB_PREPARED_STATEMENTS": value, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
        code = "from kalem_site import settings; print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])"
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"}, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert threshold("1") == "2"
    assert threshold("0") == "None"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_health_check_sees_a_connection_the_server_closed_without_a_query():
    own = connections.create_connection("default")
    try:
        own.ensure_connection()
        assert own.is_usable()
        pid = own.connection.info.backend_pid
        with psycopg.connect(_dsn(own), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The server's goodbye arrives on the socket; no query is needed to notice it.
        for _ in range(50):
            if not own.is_usable():
                break
            time.sleep(0.05)
        assert not own.is_usable()
        own.health_check_done = False  # as at the start of each request
        own.close_if_health_check_failed()
        assert own.connection is None
        with own.cursor() as cursor:  # and the next use opens a new connection
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    finally:
        own.close()


def _dsn(wrapper) -> str:
    params = wrapper.get_connection_params()
    return psycopg.conninfo.make_conninfo(
        **{key: value for key, value in params.items() if key in {"dbname", "user", "host", "port", "password"}}
    )


# --- the lookup's number without the serializer ----------------------------------------------

_PHONE_LIKE = st.text(alphabet="+0123456789 ()-./\t\x00\u00a0\u0660\ud800x", max_size=40)


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.one_of(_PHONE_LIKE, st.text(max_size=40)))
@example("+1 (415) 555-0142")
@example("0014155550142")
@example(" +14155550142 ")
@example("+1" + "5" * 31)
@example("+1415555014" + " " * 30)
@example("")
def test_the_lookups_quick_check_of_the_number_agrees_with_the_serializer(value):
    serializer = NumberLookupSerializer(data={"number": value})
    expected = serializer.validated_data["number"] if serializer.is_valid() else None
    assert NumberLookupSerializer.valid_number(value) == expected
