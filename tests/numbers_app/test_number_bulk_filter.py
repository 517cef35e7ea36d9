"""Bulk actions on every number matching the list's filters (issue 15.1): the service
(numbers_app.bulk_jobs: at once up to BULK_AT_ONCE, else a job over a snapshot of the
matching ids, chunked) and `POST /api/v1/numbers/bulk` with `filter` (200 or 202 and a job
to poll at `GET /api/v1/numbers/bulk/{id}`)."""

import json

import pytest
from django.core.exceptions import ValidationError

from kalem_site.actors import Actor, Channel
from numbers_app import bulk_jobs
from numbers_app.bulk_jobs import number_bulk_by_filter
from numbers_app.models import BulkJob, BulkJobNumber, NumberEvent, PhoneNumber
from tests.helpers import assert_error, assert_validation_error, queries
from tests.tasks import run_tasks
from webhooks_app.models import WebhookEndpoint, WebhookMessage, WebhookOutbox

URL = "/api/v1/numbers/bulk"
ACTOR = Actor.for_command("test", Channel.COMMAND)
JOB_KEYS = [
    "id",
    "state",
    "action",
    "filter",
    "assignments",
    "total",
    "processed",
    "changed",
    "unchanged",
    "skipped",
    "error",
    "created_at",
    "updated_at",
    "finished_at",
]


@pytest.fixture
def small_limits(monkeypatch):
    """More than 3 matching numbers make a job, changed 2 per chunk: the paths of 30,000
    numbers with a handful."""
    monkeypatch.setattr(bulk_jobs, "BULK_AT_ONCE", 3)
    monkeypatch.setattr(bulk_jobs, "CHUNK_SIZE", 2)


@pytest.fixture
def on_edge(account, make_number, make_trunk):
    """Five active numbers on trunk Edge, one inactive on Edge, one active elsewhere."""
    edge = make_trunk(account, "Edge")
    numbers = [make_number(account, trunk=edge, status="active") for _ in range(5)]
    make_number(account, trunk=edge, status="inactive")
    make_number(account, status="active")
    return edge, numbers


# --- the service -----------------------------------------------------------------------------


def test_up_to_the_limit_it_changes_the_matching_numbers_at_once(account, on_edge, make_voice_agent):
    edge, numbers = on_edge
    agent = make_voice_agent(account, "Sales")

    outcome = number_bulk_by_filter(
        actor=ACTOR,
        account=account,
        action="assign",
        filters={"trunk_id": str(edge.pk), "status": "active"},
        assignments={"voice_agent": agent},
    )

    assert not isinstance(outcome, BulkJob)
    assert outcome.changed == 5
    assert [item["id"] for item in outcome.results] == [n.pk for n in numbers]
    assert set(PhoneNumber.objects.filter(voice_agent=agent).values_list("id", flat=True)) == {n.pk for n in numbers}
    assert NumberEvent.objects.filter(action="assigned", field="voice_agent").count() == 5
    assert not BulkJob.objects.exists()


def test_more_than_the_limit_is_a_job_over_a_snapshot_run_in_chunks(account, on_edge, make_voice_agent, small_limits):
    edge, numbers = on_edge
    agent = make_voice_agent(account, "Sales")

    job = number_bulk_by_filter(
        actor=ACTOR,
        account=account,
        action="assign",
        filters={"trunk_id": str(edge.pk), "status": "active"},
        assignments={"voice_agent": agent},
    )

    assert isinstance(job, BulkJob)
    job.refresh_from_db()
    assert (job.state, job.total, job.processed, job.action) == ("queued", 5, 0, "assign")
    assert job.filters == {"trunk_id": str(edge.pk), "status": "active"}
    assert job.assignments == {"voice_agent": agent.pk}
    assert sorted(BulkJobNumber.objects.filter(job=job).values_list("number_id", flat=True)) == [n.pk for n in numbers]
    assert not PhoneNumber.objects.filter(voice_agent=agent).exists()  # nothing until a worker runs it

    run_tasks()

    job.refresh_from_db()
    assert (job.state, job.processed, job.changed, job.unchanged, job.skipped) == ("done", 5, 5, 0, 0)
    assert job.finished_at is not None and job.error == ""
    assert set(PhoneNumber.objects.filter(voice_agent=agent).values_list("id", flat=True)) == {n.pk for n in numbers}
    # One audit event per number changed, named as the one who confirmed it.
    events = NumberEvent.objects.filter(action="assigned", field="voice_agent")
    assert sorted(events.values_list("number_id", flat=True)) == [n.pk for n in numbers]
    assert set(events.values_list("actor_name", "channel")) == {("test", "command")}
    assert not BulkJobNumber.objects.filter(job=job).exists()  # the snapshot goes once done


def test_each_chunk_commits_its_changes_with_the_progress(account, on_edge, small_limits):
    edge, numbers = on_edge
    job = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={"trunk_id": str(edge.pk)})
    BulkJob.objects.filter(pk=job.pk).update(state="running")
    on_trunk = sorted(PhoneNumber.objects.filter(trunk=edge).values_list("id", flat=True))

    assert bulk_jobs._run_chunk(job.pk, job.task_id) is True

    job.refresh_from_db()
    assert (job.processed, job.changed, job.last_number_id) == (2, 2, on_trunk[1])
    assert PhoneNumber.objects.filter(trunk=edge, status="inactive").count() == 3  # two now, one before


def test_a_number_that_no_longer_matches_is_left_alone_and_a_new_one_is_not_included(
    account, on_edge, make_number, make_trunk, small_limits
):
    edge, numbers = on_edge
    job = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={"trunk_id": str(edge.pk)})
    moved, deleted = numbers[3], numbers[4]
    other = make_trunk(account, "Other")
    PhoneNumber.objects.filter(pk=moved.pk).update(trunk=other)
    PhoneNumber.objects.filter(pk=deleted.pk).delete()
    late = make_number(account, trunk=edge, status="active")

    run_tasks()

    job.refresh_from_db()
    # Six matched (five active, one inactive already): two gone meanwhile, one unchanged.
    assert (job.state, job.total, job.processed, job.changed, job.unchanged, job.skipped) == ("done", 6, 6, 3, 1, 2)
    moved.refresh_from_db()
    late.refresh_from_db()
    assert moved.status == "active" and late.status == "active"
    assert not NumberEvent.objects.filter(number_id__in=[moved.pk, late.pk]).exists()


def test_it_deletes_by_filter_in_a_job(account, on_edge, small_limits):
    edge, numbers = on_edge

    job = number_bulk_by_filter(actor=ACTOR, account=account, action="delete", filters={"status": "active"})
    run_tasks()

    job.refresh_from_db()
    assert (job.state, job.total, job.changed) == ("done", 6, 6)
    assert list(PhoneNumber.objects.values_list("status", flat=True)) == ["inactive"]
    assert NumberEvent.objects.filter(action="deleted").count() == 6


def test_an_empty_filter_is_the_whole_account_and_never_another(account, other_account, on_edge, make_number):
    foreign = make_number(other_account, status="active")

    outcome = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={})

    assert outcome.changed == 6
    foreign.refresh_from_db()
    assert foreign.status == "active"
    assert not PhoneNumber.objects.filter(account=account, status="active").exists()


def test_a_job_snapshots_only_the_accounts_numbers(account, other_account, on_edge, make_number, small_limits):
    foreign = [make_number(other_account, status="active") for _ in range(4)]

    job = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={"status": "active"})
    run_tasks()

    job.refresh_from_db()
    assert (job.total, job.changed) == (6, 6)
    assert PhoneNumber.objects.filter(pk__in=[n.pk for n in foreign], status="active").count() == 4


def test_a_job_whose_agent_is_deleted_meanwhile_fails_saying_how_far_it_got(
    account, on_edge, make_voice_agent, small_limits
):
    edge, _ = on_edge
    agent = make_voice_agent(account, "Sales")
    job = number_bulk_by_filter(
        actor=ACTOR, account=account, action="assign", filters={}, assignments={"voice_agent": agent}
    )
    agent_id = agent.pk
    agent.delete()

    run_tasks()

    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error == (
        f"Voice agent {agent_id} was deleted while the job ran. 0 of 7 numbers were done before it stopped; "
        "the rest were not changed."
    )


@pytest.mark.parametrize(
    "filters, field",
    [({"status": "sleeping"}, "status"), ({"trunk_id": "03"}, "trunk_id"), ({"search": "abc"}, "search")],
)
def test_an_invalid_filter_is_refused_on_its_name(account, on_edge, filters, field):
    with pytest.raises(ValidationError) as raised:
        number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters=filters)
    assert list(raised.value.message_dict) == [field]
    assert PhoneNumber.objects.filter(status="inactive").count() == 1


def test_another_accounts_agent_is_refused_before_any_job(
    account, other_account, on_edge, make_voice_agent, small_limits
):
    theirs = make_voice_agent(other_account)
    with pytest.raises(ValidationError) as raised:
        number_bulk_by_filter(
            actor=ACTOR, account=account, action="assign", filters={}, assignments={"voice_agent": theirs}
        )
    assert raised.value.message_dict == {"voice_agent": [f"Voice agent {theirs.pk} does not exist."]}
    assert not BulkJob.objects.exists()


def test_an_unknown_filter_is_refused(account, on_edge):
    with pytest.raises(ValidationError) as raised:
        number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={"statuss": "active"})
    assert raised.value.message_dict == {"statuss": ["Unknown filter."]}


def test_a_webhook_endpoint_gets_an_event_per_number_changed_by_a_job(account, on_edge, small_limits, settings):
    settings.WEBHOOK_ALLOW_INSECURE = True
    WebhookEndpoint.objects.create(account=account, url="http://127.0.0.1:9/hook", secret_encrypted="x", events=[])

    job = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={"status": "active"})
    run_tasks()  # the job, then the delivery it queued (to a closed port: it fails, and waits)

    job.refresh_from_db()
    assert job.changed == 6
    # Each chunk's events are in the outbox (or already made into messages by a worker).
    outboxed = [pk for entry in WebhookOutbox.objects.filter(account=account) for pk in entry.event_ids]
    messaged = list(WebhookMessage.objects.filter(account=account).values_list("event_id", flat=True))
    deactivated = NumberEvent.objects.filter(action="deactivated").values_list("id", flat=True)
    assert sorted(set(outboxed + messaged)) == sorted(deactivated)
    assert len(deactivated) == 6


def test_the_purge_removes_finished_jobs_older_than_a_week(account, on_edge, small_limits):
    job = number_bulk_by_filter(actor=ACTOR, account=account, action="deactivate", filters={})
    running = number_bulk_by_filter(actor=ACTOR, account=account, action="activate", filters={})
    BulkJob.objects.filter(pk=job.pk).update(state="failed")
    BulkJob.objects.filter(pk__in=[job.pk, running.pk]).update(created_at=job.created_at - bulk_jobs.KEEP_JOBS * 2)

    assert bulk_jobs.bulk_jobs_purge() == 1

    assert list(BulkJob.objects.values_list("pk", flat=True)) == [running.pk]
    assert not BulkJobNumber.objects.filter(job_id=job.pk).exists()


# --- the API ---------------------------------------------------------------------------------


def test_a_filter_matching_up_to_1000_numbers_is_answered_200_with_a_result_per_number(api, account, on_edge):
    edge, numbers = on_edge

    response = api.post(
        URL, {"action": "deactivate", "filter": {"trunk_id": edge.pk, "status": "active"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["action"] == "deactivate" and body["changed"] == 5
    assert body["results"][0] == {
        "input": numbers[0].pk,
        "id": numbers[0].pk,
        "number": numbers[0].number,
        "result": "ok",
        "message": None,
    }
    assert [item["id"] for item in body["results"]] == [n.pk for n in numbers]
    assert PhoneNumber.objects.filter(status="active").count() == 1
    assert not BulkJob.objects.exists()


def test_1001_matching_numbers_are_answered_202_with_a_job(api, account):
    PhoneNumber.objects.bulk_create(PhoneNumber(account=account, number=f"+1415555{i:04d}") for i in range(1001))

    response = api.post(URL, {"action": "deactivate", "filter": {}}, format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["total"] == 1001


def test_more_than_the_limit_is_answered_202_with_a_job_to_poll(api, account, on_edge, make_trunk, small_limits):
    edge, numbers = on_edge
    trunk = make_trunk(account, "New")

    response = api.post(
        URL, {"action": "assign", "filter": {"trunk_id": str(edge.pk)}, "trunk_id": trunk.pk}, format="json"
    )

    assert response.status_code == 202, response.json()
    job = BulkJob.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/numbers/bulk/{job.pk}"
    body = response.json()
    assert list(body) == JOB_KEYS
    assert body == {
        **body,
        "id": job.pk,
        "state": "queued",
        "action": "assign",
        "filter": {"trunk_id": str(edge.pk)},
        "assignments": {"trunk_id": trunk.pk},
        "total": 6,
        "processed": 0,
        "changed": 0,
        "unchanged": 0,
        "skipped": 0,
        "error": None,
        "finished_at": None,
    }

    run_tasks()

    polled = api.get(response["Location"])
    assert polled.status_code == 200
    done = polled.json()
    assert list(done) == JOB_KEYS
    assert (done["state"], done["processed"], done["changed"], done["skipped"]) == ("done", 6, 6, 0)
    assert done["finished_at"] is not None
    assert PhoneNumber.objects.filter(trunk=trunk).count() == 6
    assert NumberEvent.objects.filter(field="trunk", channel="api", actor_name="Owner token").count() == 6


def test_a_job_unassigning_says_so_in_its_assignments(api, on_edge, small_limits):
    response = api.post(URL, {"action": "assign", "filter": {}, "voice_agent_id": None}, format="json")
    assert response.status_code == 202
    assert response.json()["assignments"] == {"voice_agent_id": None}


def test_another_accounts_job_is_not_found(api, outsider_api, on_edge, small_limits):
    created = api.post(URL, {"action": "deactivate", "filter": {}}, format="json")
    assert created.status_code == 202

    assert_error(outsider_api.get(created["Location"]), 404, "not_found")
    assert_error(api.get(f"{URL}/{created.json()['id'] + 1000}"), 404, "not_found")
    assert_error(api.get(f"{URL}/{2**70}"), 404, "not_found")
    assert_error(api.get(f"{URL}/abc"), 404, "not_found")


def test_an_outsiders_filter_never_reaches_the_accounts_numbers(outsider_api, on_edge):
    response = outsider_api.post(URL, {"action": "deactivate", "filter": {}}, format="json")
    assert response.status_code == 200
    assert response.json() == {"action": "deactivate", "results": [], "changed": 0}
    assert PhoneNumber.objects.filter(status="active").count() == 6


def test_a_read_only_token_may_poll_but_not_start_a_job(api, read_only_api, on_edge, small_limits):
    assert_error(read_only_api.post(URL, {"action": "deactivate", "filter": {}}, format="json"), 403, "forbidden")
    created = api.post(URL, {"action": "deactivate", "filter": {}}, format="json")
    assert read_only_api.get(created["Location"]).status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "activate", "filter": {"status": "sleeping"}}, "filter.status"),
        ({"action": "activate", "filter": {"trunk_id": 0}}, "filter.trunk_id"),
        ({"action": "activate", "filter": {"trunk_id": "3x"}}, "filter.trunk_id"),
        ({"action": "activate", "filter": {"trunk_id": True}}, "filter.trunk_id"),
        ({"action": "activate", "filter": {"search": 555}}, "filter.search"),
        ({"action": "activate", "filter": {"search": "abc"}}, "filter.search"),
        ({"action": "activate", "filter": {"status": ["active"]}}, "filter.status"),
        ({"action": "activate", "filter": {"statuss": "active"}}, "filter.statuss"),
        ({"action": "activate", "filter": {"page": "2"}}, "filter.page"),
        ({"action": "activate", "filter": "status=active"}, "filter"),
        ({"action": "activate", "filter": {}, "ids": [1]}, "numbers"),
        ({"action": "activate", "filter": {}, "numbers": ["+15550000000"]}, "numbers"),
        ({"action": "assign", "filter": {}}, "action"),
    ],
)
def test_a_malformed_filter_request_is_a_422_on_its_field_and_changes_nothing(api, on_edge, body, field):
    PhoneNumber.objects.update(status="inactive")
    response = api.post(URL, body, format="json")
    assert_validation_error(response, field)
    assert not PhoneNumber.objects.filter(status="active").exists()
    assert not BulkJob.objects.exists()


def test_routable_takes_a_json_boolean_or_its_query_string_spelling(api, account, on_edge, make_voice_agent):
    edge, numbers = on_edge
    PhoneNumber.objects.filter(pk=numbers[0].pk).update(voice_agent=make_voice_agent(account))
    response = api.post(URL, {"action": "deactivate", "filter": {"routable": True}}, format="json")
    assert response.status_code == 200, response.json()
    assert [item["id"] for item in response.json()["results"]] == [numbers[0].pk]
    response = api.post(URL, {"action": "activate", "filter": {"routable": "false"}}, format="json")
    assert response.json()["changed"] == 2  # the inactive one on Edge, and the one just deactivated
    assert_validation_error(
        api.post(URL, {"action": "activate", "filter": {"routable": "yes"}}, format="json"), "filter.routable"
    )
    assert_validation_error(
        api.post(URL, {"action": "activate", "filter": {"routable": 1}}, format="json"), "filter.routable"
    )


def test_null_and_empty_filter_values_are_no_filter(api, on_edge):
    response = api.post(URL, {"action": "deactivate", "filter": {"status": None, "trunk_id": ""}}, format="json")
    assert response.status_code == 200
    assert response.json()["changed"] == 6


def test_an_idempotent_retry_of_a_202_replays_the_same_job(api, on_edge, small_limits):
    body = json.dumps({"action": "deactivate", "filter": {"status": "active"}})
    first = api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bulk-filter-1")
    retry = api.post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bulk-filter-1")

    assert first.status_code == retry.status_code == 202
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert BulkJob.objects.count() == 1


def test_starting_a_job_takes_a_fixed_number_of_queries(api, account, make_number, small_limits):
    for _ in range(20):
        make_number(account)
    api.get("/api/v1/numbers", {"per_page": 1})  # the token's first use writes last_used_at
    with queries() as captured:
        response = api.post(URL, {"action": "deactivate", "filter": {"status": "active"}}, format="json")
    assert response.status_code == 202
    # The token, the first matching ids, the job's INSERT, the snapshot's INSERT … SELECT,
    # the task's INSERT, the job's UPDATE; on PostgreSQL also the long statement timeout set
    # for the snapshot, and set back.
    from django.db import connection

    budget = 8 if connection.vendor == "postgresql" else 6
    assert len(captured.statements) <= budget, captured.statements


def test_polling_a_job_runs_at_most_2_queries(api, on_edge, small_limits):
    created = api.post(URL, {"action": "deactivate", "filter": {}}, format="json")
    with queries() as captured:
        assert api.get(created["Location"]).status_code == 200
    assert len(captured.statements) <= 2, captured.statements


@pytest.mark.postgres_only
def test_the_snapshot_runs_with_the_long_statement_timeout_and_only_it(db, settings):
    from django.db import connection, transaction

    from kalem_site.db import long_statements

    def timeout() -> int:
        """The server's statement timeout now, in milliseconds."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'")
            return cursor.fetchone()[0]

    with transaction.atomic():
        before = timeout()
        with long_statements():
            assert timeout() == settings.DB_STATEMENT_TIMEOUT_LONG * 1000
            assert connection.connection.wait_timeout > settings.DB_STATEMENT_TIMEOUT_LONG
        assert timeout() == before == settings.DATABASES["default"]["STATEMENT_TIMEOUT"] * 1000
        assert connection.connection.wait_timeout < settings.DB_STATEMENT_TIMEOUT_LONG
