"""Query budgets of the numbers API (issue: performance and scale), the same however many
rows a page holds: list ≤ 3 queries, get and lookup 1 (the row read with the token; 2 for
a number not found), update ≤ 7.

Counted as production runs them: the test's own transaction turns each atomic block of a
write into SAVEPOINT / RELEASE statements, which production (autocommit, BEGIN/COMMIT on the
connection) does not send as queries, so those are left out. The rate limiter is off here
(its counter is one Redis round trip, or one upsert without Redis)."""

import pytest

from tests.helpers import queries


@pytest.fixture
def filled(account, make_number, make_voice_agent, make_text_agent, make_trunk):
    agents = [make_voice_agent(account) for _ in range(3)]
    trunk = make_trunk(account)
    return [
        make_number(account, voice_agent=agents[i % 3], text_agent=make_text_agent(account), trunk=trunk)
        for i in range(120)
    ]


def warm(api):
    # A token's first use writes last_used_at (then at most once a minute): not part of a budget.
    api.get("/api/v1/numbers", {"per_page": 1})


@pytest.mark.parametrize(
    "query", [{}, {"status": "active"}, {"search": "555"}, {"trunk_id": "none", "provider": "manual"}]
)
@pytest.mark.parametrize("per_page", [1, 100])
def test_the_list_runs_at_most_3_queries(api, filled, query, per_page):
    warm(api)
    with queries() as captured:
        response = api.get("/api/v1/numbers", {**query, "per_page": per_page})
    assert response.status_code == 200
    assert len(captured.statements) <= 3, captured.statements


def test_the_list_query_count_does_not_depend_on_the_page_size(api, filled):
    warm(api)
    counts = []
    for per_page in (1, 100):
        with queries() as captured:
            api.get("/api/v1/numbers", {"per_page": per_page})
        counts.append(len(captured.statements))
    assert counts[0] == counts[1] == 3  # the token, the total (from the tally), the page


def test_a_get_runs_1_query(api, filled):
    warm(api)
    with queries() as captured:
        response = api.get(f"/api/v1/numbers/{filled[0].id}")
    assert response.status_code == 200
    assert len(captured.statements) == 1, captured.statements  # the number, joined with the token


@pytest.mark.parametrize("number_id", ["999999999", "99999999999999999999", "abc"])
def test_a_get_of_no_such_number_runs_at_most_2_queries(api, filled, number_id):
    warm(api)
    with queries() as captured:
        response = api.get(f"/api/v1/numbers/{number_id}")
    assert response.status_code == 404
    assert len(captured.statements) <= 2, captured.statements


@pytest.mark.parametrize(
    ("number", "found"), [("+15550000001", True), ("+1 (555) 000-0001", True), ("+15559999999", False)]
)
def test_a_lookup_runs_1_query_or_2_for_a_number_not_found(api, filled, account, make_number, number, found):
    """The number's row, which holds the verdict's inputs, read with the token in one query
    (issue 14: the SIP router's per-call request); a number not found is that query, then
    the token alone."""
    make_number(account, "+15550000001")
    warm(api)
    with queries() as captured:
        response = api.get("/api/v1/numbers/lookup", {"number": number})
    assert response.status_code == (200 if found else 404)
    assert len(captured.statements) == (1 if found else 2), captured.statements


@pytest.mark.parametrize(
    ("body", "budget"),
    [
        ({"status": "inactive"}, 7),
        ({"provider": "twilio", "status": "inactive"}, 7),
        ({"voice_agent_id": None, "trunk_id": None}, 7),
        ("agent", 8),
    ],
)
def test_an_update_runs_at_most_7_or_8_queries(api, filled, make_voice_agent, account, body, budget):
    """Token, number, the agent or trunk named, the service's locked read of the number (what
    the audit events say it changed from), the UPDATE, one INSERT of its audit events, however
    many fields changed, and the lookup of the account's webhook endpoints (none here).
    Changing an assignment adds one statement before the locked read: the names of the agents
    and trunks it changes from and to, locked against a rename (issue 11: a name read in the
    locking statement, joined, could be older than the lock)."""
    if body == "agent":
        body = {"voice_agent_id": make_voice_agent(account).id}
    warm(api)
    with queries() as captured:
        response = api.put(f"/api/v1/numbers/{filled[0].id}", body, format="json")
    assert response.status_code == 200, response.json()
    assert len(captured.statements) <= budget, captured.statements
