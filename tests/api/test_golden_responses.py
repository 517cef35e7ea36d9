"""The API's responses, byte for byte, as the code before issue 14's speed-ups wrote them.

The speed-ups (compiled queries, psycopg's own timestamp loader, orjson writing datetimes, a
lean middleware stack for /api/) must not change a single byte: the files in
tests/api/golden/ were captured from commit 91835b7, and each request here must answer the
same status, the same headers (all but the per-request X-Request-ID) and the same body bytes.

`UPDATE_GOLDEN=1 pytest tests/api/test_golden_responses.py` rewrites the files; do that only
for a deliberate change of the contract, and say so in the commit."""

import datetime
import json
import os
from pathlib import Path

import pytest
from model_bakery import baker

from agents_app.models import TextAgent, VoiceAgent
from kalem_site.accounts.services import token_create
from numbers_app.models import PhoneNumber, SipTrunk
from tests.helpers import client_for

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# Fixed ids (far above what a sequence hands out in a test run) and fixed times, so the
# responses are the same bytes on SQLite and PostgreSQL, in any order of tests.
CREATED = datetime.datetime(2025, 1, 15, 10, 30, 0, 987654, tzinfo=datetime.UTC)
UPDATED = datetime.datetime(2025, 3, 2, 23, 59, 59, 500000, tzinfo=datetime.UTC)

# (name, method, path, body)
REQUESTS = [
    ("list_default", "get", "/api/v1/numbers", None),
    ("list_per_page_2", "get", "/api/v1/numbers?per_page=2", None),
    ("list_page_2", "get", "/api/v1/numbers?per_page=2&page=2", None),
    ("list_last_page", "get", "/api/v1/numbers?per_page=2&page=3", None),
    ("list_past_end", "get", "/api/v1/numbers?per_page=2&page=9", None),
    ("list_status_inactive", "get", "/api/v1/numbers?status=inactive", None),
    ("list_search", "get", "/api/v1/numbers?search=5550102", None),
    ("list_trunk_none", "get", "/api/v1/numbers?trunk_id=none&provider=manual", None),
    ("list_slash", "get", "/api/v1/numbers/?per_page=1", None),
    ("get_assigned", "get", "/api/v1/numbers/7101", None),
    ("get_unassigned", "get", "/api/v1/numbers/7103", None),
    ("get_slash", "get", "/api/v1/numbers/7102/", None),
    ("lookup_routable", "get", "/api/v1/numbers/lookup?number=%2B14155550101", None),
    ("lookup_formatted", "get", "/api/v1/numbers/lookup?number=(415)%20555-0101", None),
    ("lookup_plus_as_space", "get", "/api/v1/numbers/lookup?number=+14155550102", None),
    ("lookup_twilio_no_trunk", "get", "/api/v1/numbers/lookup?number=%2B14155550102", None),
    ("lookup_not_routable", "get", "/api/v1/numbers/lookup?number=%2B14155550103", None),
    ("lookup_inactive", "get", "/api/v1/numbers/lookup?number=%2B14155550104", None),
    ("lookup_not_found", "get", "/api/v1/numbers/lookup?number=%2B14155550199", None),
    ("lookup_other_account", "get", "/api/v1/numbers/lookup?number=%2B14155550201", None),
    ("lookup_missing", "get", "/api/v1/numbers/lookup", None),
    ("lookup_invalid", "get", "/api/v1/numbers/lookup?number=hello", None),
    ("lookup_unknown_param", "get", "/api/v1/numbers/lookup?number=%2B14155550101&x=1", None),
    ("lookup_post", "post", "/api/v1/numbers/lookup", {}),
    ("get_not_found", "get", "/api/v1/numbers/7199", None),
    ("get_other_account", "get", "/api/v1/numbers/7201", None),
    ("get_out_of_range", "get", "/api/v1/numbers/99999999999999999999", None),
    ("list_unknown_param", "get", "/api/v1/numbers?statuss=active", None),
    ("list_bad_per_page", "get", "/api/v1/numbers?per_page=0&page=x", None),
    ("list_bad_status", "get", "/api/v1/numbers?status=asleep", None),
    ("unknown_route", "get", "/api/v1/nothing-here", None),
    ("put_invalid", "put", "/api/v1/numbers/7101", {"status": "asleep", "trunk_id": 7999}),
    ("bulk_not_found", "post", "/api/v1/numbers/bulk", {"action": "activate", "ids": [7199, 7201]}),
    ("bulk_invalid", "post", "/api/v1/numbers/bulk", {"action": "assign", "ids": [7101]}),
]

# Requests without a usable token.
UNAUTHENTICATED = [
    ("no_token", None),
    ("bad_token", "Bearer klm_not-a-token"),
    ("malformed_header", "Token abc def"),
]


@pytest.fixture
def golden_data(account, other_account):
    """Two voice agents (one with a name JSON must escape), a text agent and a trunk; five
    numbers covering every routing verdict; one number of another account."""
    sales = baker.make(VoiceAgent, id=7001, account=account, name='Sales "EU" — café <1>')
    baker.make(VoiceAgent, id=7002, account=account, name="Support")
    chat = baker.make(TextAgent, id=7011, account=account, name="Chat")
    edge = baker.make(
        SipTrunk, id=7021, account=account, name="Edge", direction="inbound", auth_type="ip", host="10.0.0.1"
    )
    rows = [
        (7101, "+14155550101", "manual", "active", sales, chat, edge),  # routable
        (7102, "+14155550102", "twilio", "active", sales, None, None),  # routable without a trunk
        (7103, "+14155550103", "manual", "active", None, None, None),  # no agent, no trunk
        (7104, "+14155550104", "manual", "inactive", None, chat, edge),  # inactive
        (7105, "+442071838750", "twilio", "inactive", None, None, None),  # everything missing but the trunk
    ]
    for pk, number, provider, status, voice, text, trunk in rows:
        PhoneNumber.objects.create(
            id=pk, account=account, number=number, provider=provider, status=status,
            voice_agent=voice, text_agent=text, trunk=trunk,
        )  # fmt: skip
    other_trunk = baker.make(
        SipTrunk, id=7031, account=other_account, name="Theirs", direction="inbound", auth_type="ip", host="10.9.9.9"
    )
    PhoneNumber.objects.create(id=7201, account=other_account, number="+14155550201", trunk=other_trunk)
    PhoneNumber.objects.filter(id__in=[7101, 7102, 7103, 7104, 7105, 7201]).update(
        created_at=CREATED, updated_at=UPDATED
    )


def _headers(response) -> dict:
    return {name: value for name, value in sorted(response.headers.items()) if name != "X-Request-ID"}


def _check(name: str, response) -> None:
    path = GOLDEN / f"{name}.json"
    observed = {"status": response.status_code, "headers": _headers(response), "body": response.content.decode()}
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(observed, indent=1, ensure_ascii=False) + "\n")
        return
    expected = json.loads(path.read_text())
    assert observed["status"] == expected["status"], name
    assert observed["headers"] == expected["headers"], name
    # Bytes, not parsed JSON: key order, spacing, escapes and number formats all count.
    assert response.content == expected["body"].encode(), name


@pytest.mark.parametrize(("name", "method", "path", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_the_response_is_byte_identical_to_the_golden_one(account, golden_data, name, method, path, body):
    api = client_for(token_create(account=account, name="Golden").plaintext)
    call = getattr(api, method)
    response = call(path, body, format="json") if body is not None else call(path)
    _check(name, response)


@pytest.mark.parametrize(("name", "header"), UNAUTHENTICATED, ids=[u[0] for u in UNAUTHENTICATED])
def test_an_unauthenticated_response_is_byte_identical_to_the_golden_one(golden_data, client, name, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    _check(name, client.get("/api/v1/numbers/lookup?number=%2B14155550101", **extra))


def test_a_read_only_tokens_write_is_byte_identical_to_the_golden_one(account, golden_data):
    api = client_for(token_create(account=account, name="Reader", read_only=True).plaintext)
    _check("read_only_put", api.put("/api/v1/numbers/7101", {"status": "inactive"}, format="json"))
