"""The list's "Apply to all N numbers matching this filter" (issue 15.1): a confirmation that
names the filter and the count with a sample of the numbers, then the change at once (up to
BULK_AT_ONCE numbers) or as a background job with its own page; and that page."""

import pytest

from numbers_app import bulk_jobs
from numbers_app.models import BulkJob, NumberEvent, PhoneNumber
from tests.helpers import assert_login_redirect, flashes, html, queries
from tests.tasks import run_tasks

URL = "/numbers/bulk/"


@pytest.fixture
def small_limits(monkeypatch):
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


def all_matching(filter_query: str, action: str, **fields) -> dict:
    return {"action": action, "scope": "all", "filter": filter_query, "next": f"/numbers/?{filter_query}", **fields}


def test_the_list_offers_every_matching_number_with_the_filter_and_the_count(owner_client, on_edge):
    edge, _ = on_edge

    body = html(owner_client.get(f"/numbers/?trunk_id={edge.pk}&status=active&page=1&per_page=15"))

    assert '<button type="submit" name="scope" value="selected">Apply</button>' in body
    assert f'<input type="hidden" name="filter" value="status=active&amp;trunk_id={edge.pk}">' in body
    assert "Apply to all 5 numbers matching this filter</button>" in body


def test_without_filters_it_offers_the_whole_account(owner_client, on_edge):
    body = html(owner_client.get("/numbers/"))
    assert '<input type="hidden" name="filter" value="">' in body
    assert "Apply to all 7 numbers in this account</button>" in body


def test_an_empty_list_offers_no_all_matching_button(owner_client, account):
    body = html(owner_client.get("/numbers/?status=inactive"))
    assert "data-bulk-all" not in body


def test_all_matching_first_asks_naming_the_filter_the_count_and_a_sample(owner_client, on_edge):
    edge, numbers = on_edge

    response = owner_client.post(URL, all_matching(f"trunk_id={edge.pk}&status=active", "deactivate"))

    assert response.status_code == 200
    body = html(response)
    assert "Deactivate 5 numbers matching Status: Active; SIP trunk: Edge?" in body
    for number in numbers:
        assert number.number in body
    assert "The numbers matching when you confirm are changed, at once." in body
    assert '<input type="hidden" name="scope" value="all">' in body
    assert f'<input type="hidden" name="filter" value="trunk_id={edge.pk}&amp;status=active">' in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert '<button type="submit" class="primary">Yes, deactivate 5</button>' in body
    assert PhoneNumber.objects.filter(status="active").count() == 6  # nothing changed yet


def test_the_sample_is_ten_numbers_and_the_rest_are_counted(owner_client, account, make_number):
    for _ in range(14):
        make_number(account)

    body = html(owner_client.post(URL, all_matching("", "delete")))

    assert "Delete 14 numbers in this account?" in body
    assert body.count("<li>+1555") == 10
    assert "and 4 more." in body
    assert '<button type="submit" class="danger">Yes, delete 14</button>' in body


def test_unassigning_all_matching_asks_as_a_danger(owner_client, account, on_edge):
    edge, _ = on_edge
    body = html(owner_client.post(URL, all_matching(f"trunk_id={edge.pk}", "unassign_trunk")))
    assert "Unassign the SIP trunk of 6 numbers matching SIP trunk: Edge?" in body
    assert '<button type="submit" class="danger">Yes, unassign 6</button>' in body


def test_setting_on_all_matching_names_the_agent(owner_client, account, on_edge, make_voice_agent):
    agent = make_voice_agent(account, "Sales")
    body = html(
        owner_client.post(URL, all_matching("voice_agent_id=none", "assign_voice_agent", voice_agent=str(agent.pk)))
    )
    assert "Set voice agent Sales on 7 numbers matching Voice agent: unassigned?" in body
    assert f'<input type="hidden" name="voice_agent" value="{agent.pk}">' in body


def test_once_confirmed_a_few_matching_numbers_change_at_once(owner_client, on_edge):
    edge, numbers = on_edge

    response = owner_client.post(
        URL, {**all_matching(f"trunk_id={edge.pk}&status=active", "deactivate"), "confirm": "yes"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/numbers/?trunk_id={edge.pk}&status=active"
    assert flashes(response) == ["5 numbers deactivated."]
    assert PhoneNumber.objects.filter(status="active").count() == 1
    assert NumberEvent.objects.filter(action="deactivated", channel="dashboard", actor_name="alice").count() == 5
    assert not BulkJob.objects.exists()


def test_once_confirmed_many_matching_numbers_become_a_job_with_its_page(owner_client, on_edge, small_limits):
    edge, _ = on_edge

    response = owner_client.post(URL, {**all_matching(f"trunk_id={edge.pk}", "unassign_trunk"), "confirm": "yes"})

    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/numbers/bulk/{job.pk}/"
    assert flashes(response) == ["Changing 6 numbers in the background."]
    assert (job.action, job.assignments, job.filters, job.total) == (
        "assign",
        {"trunk": None},
        {"trunk_id": str(edge.pk)},
        6,
    )

    page = owner_client.get(response["Location"])
    body = html(page)
    assert "Bulk change: unassign the SIP trunk" in body
    assert "On the numbers matching SIP trunk: Edge: 6 numbers when it was confirmed by alice" in body
    assert "Waiting for a worker" in body
    assert '<meta http-equiv="refresh" content="2">' in body
    assert "No worker is running" in body

    run_tasks()

    body = html(owner_client.get(response["Location"]))
    assert "Done: 6 numbers changed." in body
    assert "<strong>6</strong> changed" in body and "<strong>0</strong> skipped" in body
    assert 'http-equiv="refresh"' not in body
    assert not PhoneNumber.objects.filter(trunk=edge).exists()


def test_a_failed_job_shows_why(owner_client, account, on_edge, make_voice_agent, small_limits):
    agent = make_voice_agent(account, "Sales")
    owner_client.post(URL, {**all_matching("", "assign_voice_agent", voice_agent=str(agent.pk)), "confirm": "yes"})
    agent_id = agent.pk
    agent.delete()
    run_tasks()
    job = BulkJob.objects.get()

    body = html(owner_client.get(f"/numbers/bulk/{job.pk}/"))

    assert f"Voice agent {agent_id} was deleted while the job ran." in body
    assert f"set voice agent #{agent_id} (deleted)" in body


def test_an_invalid_filter_is_reported_and_changes_nothing(owner_client, on_edge):
    response = owner_client.post(URL, {**all_matching("status=sleeping", "deactivate"), "confirm": "yes"})

    assert response.status_code == 302
    assert flashes(response) == ["Select a valid choice. sleeping is not one of the available choices."]
    assert PhoneNumber.objects.filter(status="active").count() == 6


def test_all_matching_never_reaches_another_accounts_numbers(client, outsider, on_edge):
    client.force_login(outsider)

    response = client.post(URL, {**all_matching("", "delete"), "confirm": "yes"})

    assert response.status_code == 302
    assert flashes(response) == ["0 numbers deleted."]
    assert PhoneNumber.objects.count() == 7


def test_another_accounts_job_page_is_not_found(client, outsider, owner_client, on_edge, small_limits):
    owner_client.post(URL, {**all_matching("", "deactivate"), "confirm": "yes"})
    job = BulkJob.objects.get()
    client.force_login(outsider)
    assert client.get(f"/numbers/bulk/{job.pk}/").status_code == 404


def test_the_job_page_needs_sign_in(client, db):
    assert_login_redirect(client.get("/numbers/bulk/1/"), "/numbers/bulk/1/")


def test_the_jobs_page_lists_bulk_jobs_with_their_progress(owner_client, on_edge, small_limits):
    owner_client.post(URL, {**all_matching("", "deactivate"), "confirm": "yes"})
    job = BulkJob.objects.get()
    BulkJob.objects.filter(pk=job.pk).update(state="running", processed=4, changed=4)

    body = html(owner_client.get("/jobs/"))

    assert f'<a href="/numbers/bulk/{job.pk}/">Bulk deactivate</a> of 7 numbers' in body
    assert '<progress max="7" value="4">57%</progress> 4 of 7 numbers, 4 changed' in body


def test_the_confirmation_and_the_job_page_run_a_fixed_number_of_queries(
    owner_client, account, make_number, make_trunk, small_limits
):
    trunk = make_trunk(account, "Edge")
    for _ in range(30):
        make_number(account, trunk=trunk)
    with queries() as captured:
        owner_client.post(URL, all_matching(f"trunk_id={trunk.pk}&search=555", "unassign_trunk"))
    # Session, user, the count, the sample, the trunk's name.
    assert len(captured.statements) <= 6, captured.statements
    owner_client.post(URL, {**all_matching("", "deactivate"), "confirm": "yes"})
    job = BulkJob.objects.get()
    with queries() as captured:
        assert owner_client.get(f"/numbers/bulk/{job.pk}/").status_code == 200
    # Session, user, the job, the worker's heartbeat.
    assert len(captured.statements) <= 5, captured.statements
