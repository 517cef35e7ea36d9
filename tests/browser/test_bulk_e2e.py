"""Bulk actions that cannot surprise (issue 15.1), end to end in chromium: unassigning is an
action of its own and asks first, with the count and the numbers; "Apply to all N numbers
matching this filter" on a filtered list asks naming the filter and the count, then changes
exactly the matching numbers, at once or (many of them) in a background job whose page
follows it."""

import re

import pytest
from playwright.sync_api import Page, expect

from numbers_app import bulk_jobs
from numbers_app.models import BulkJob, NumberEvent, PhoneNumber

from . import test_dashboard_e2e
from .test_dashboard_e2e import facet_link, messages, numbers_where, query, row, sign_in

# The same seeded account as the dashboard's other end-to-end tests.
seeded = test_dashboard_e2e.seeded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_unassigning_the_selected_rows_asks_first_with_the_count_and_the_numbers(page: Page, seeded):
    sign_in(page)
    reception = seeded["voice_agents"]["Reception"]
    picked = ["+12125550100", "+12125550102", "+442079460003"]
    assert all(PhoneNumber.objects.get(number=n).voice_agent == reception for n in picked)
    for number in picked:
        row(page, number).get_by_role("checkbox").check()

    # "Set voice agent" with no choice is an error now, not a silent unassign.
    page.locator("#bulk-action").select_option(label="Set voice agent")
    page.get_by_role("button", name="Apply", exact=True).click()
    assert messages(page) == ["Choose the voice agent to set, or choose “Unassign voice agent”."]
    assert numbers_where(voice_agent=reception) >= set(picked)

    for number in picked:
        row(page, number).get_by_role("checkbox").check()
    page.locator("#bulk-action").select_option(label="Unassign voice agent")
    page.get_by_role("button", name="Apply", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Unassign the voice agent of 3 numbers?")
    assert page.get_by_role("list", name="Numbers concerned").locator("li").all_inner_texts() == picked
    assert numbers_where(voice_agent=reception) >= set(picked)  # nothing changed yet

    # Cancel goes back to the list, changing nothing.
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/numbers/$"))
    assert numbers_where(voice_agent=reception) >= set(picked)

    for number in picked:
        row(page, number).get_by_role("checkbox").check()
    page.locator("#bulk-action").select_option(label="Unassign voice agent")
    page.get_by_role("button", name="Apply", exact=True).click()
    page.get_by_role("button", name="Yes, unassign 3").click()

    expect(page).to_have_url(re.compile(r"/numbers/$"))
    assert messages(page) == ["3 numbers unassigned from their voice agent."]
    assert not numbers_where(voice_agent=reception) & set(picked)
    for number in picked:
        expect(row(page, number).locator("td").nth(4)).to_have_text("—")


def test_apply_to_all_matching_a_filtered_list_asks_then_changes_exactly_those(page: Page, seeded):
    sign_in(page)
    pbx = seeded["trunks"]["Office PBX"]
    backup = seeded["trunks"]["Backup carrier"]
    facet_link(page, "trunk_id", "Office PBX").click()
    facet_link(page, "status", "Active").click()
    matching = numbers_where(trunk=pbx, status="active")
    assert len(matching) == 4
    others_before = {n.number: n.trunk_id for n in PhoneNumber.objects.exclude(number__in=matching)}

    page.locator("#bulk-action").select_option(label="Set SIP trunk")
    page.get_by_label("SIP trunk", exact=True).select_option(label="Backup carrier")
    page.get_by_role("button", name="Apply to all 4 numbers matching this filter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Set SIP trunk Backup carrier on 4 numbers matching Status: Active; SIP trunk: Office PBX?"
    )
    assert set(page.get_by_role("list", name="Numbers concerned").locator("li").all_inner_texts()) == matching
    assert numbers_where(trunk=pbx, status="active") == matching

    page.get_by_role("button", name="Yes, set it on 4").click()

    assert messages(page) == ["4 numbers assigned to SIP trunk Backup carrier."]
    # Back on the filtered list it came from, which now matches nothing.
    assert query(page) == {"trunk_id": str(pbx.pk), "status": "active"}
    assert numbers_where(trunk=backup) >= matching
    assert not numbers_where(trunk=pbx, status="active")
    assert {n.number: n.trunk_id for n in PhoneNumber.objects.exclude(number__in=matching)} == others_before
    assert NumberEvent.objects.filter(field="trunk", channel="dashboard").count() == 4


# A worker thread writing beside the live server: SQLite's in-memory test database answers
# concurrent writers with "database table is locked", so this runs in the PostgreSQL pass
# (tests/live/test_bulk_jobs_worker.py runs a job with real worker processes on both).
@pytest.mark.postgres_only
def test_apply_to_all_matching_many_numbers_runs_as_a_job_followed_by_its_page(
    page: Page, seeded, monkeypatch, task_worker
):
    monkeypatch.setattr(bulk_jobs, "BULK_AT_ONCE", 3)
    monkeypatch.setattr(bulk_jobs, "CHUNK_SIZE", 2)
    sign_in(page)
    facet_link(page, "status", "Inactive").click()
    matching = numbers_where(status="inactive")
    assert len(matching) == 8

    page.locator("#bulk-action").select_option(label="Activate")
    page.get_by_role("button", name="Apply to all 8 numbers matching this filter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate 8 numbers matching Status: Inactive?")
    expect(page.locator("[data-bulk-confirm]")).to_contain_text("runs in the background")
    page.get_by_role("button", name="Yes, activate 8").click()

    expect(page).to_have_url(re.compile(r"/numbers/bulk/\d+/$"))
    expect(page.locator("h1 .badge")).to_have_text("Done", timeout=20_000)
    expect(page.locator("[data-outcome]")).to_contain_text("8 changed")
    job = BulkJob.objects.get()
    assert (job.state, job.total, job.changed) == ("done", 8, 8)
    assert not numbers_where(status="inactive")
    page.get_by_role("link", name="Jobs").first.click()
    expect(page.locator(f'[data-job="bulk-{job.pk}"]')).to_contain_text("8 of 8 numbers, 8 changed")
