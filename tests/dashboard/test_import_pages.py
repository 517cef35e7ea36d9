"""/numbers/import/: upload a CSV file, read its dry run row by row, then apply it. Every run
is a task of the queue: the tests run the waiting tasks in-process (tests/tasks.py) where a
worker would, and the job's page follows the stored progress meanwhile."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from kalem_site.tasks.models import WorkerHeartbeat
from numbers_app import imports
from numbers_app.audit import EventLog
from numbers_app.models import ImportJob, ImportJobRow, NumberEvent, PhoneNumber
from tests.audit import events_of
from tests.contract import E164_MESSAGE
from tests.helpers import (
    IMPORT_HEADER,
    MIXED_CSV,
    assert_login_redirect,
    assert_mixed_import_applied,
    assert_mixed_import_not_applied,
    field_errors,
    flashes,
    html,
)
from tests.tasks import run_tasks

URL = "/numbers/import/"
COLUMNS = "number,provider,voice_agent,text_agent,trunk,status"
MIXED_ROWS = [
    ("2", "+14155550100", "create", "twilio, active, voice agent Sales, trunk Edge"),
    ("3", "+15550000001", "update", "status: active → inactive; trunk: Edge → none"),
    ("4", "+15550000002", "unchanged", ""),
    ("5", "not-a-number", "error", f"number: {E164_MESSAGE}"),
]


def job_url(job: ImportJob, action: str = "") -> str:
    return f"{URL}{job.pk}/{action + '/' if action else ''}"


def upload(client, content: str | bytes, name: str = "numbers.csv", *, run: bool = True):
    """Upload the file; then, unless run=False, a worker runs its dry run."""
    data = content.encode() if isinstance(content, str) else content
    response = client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})
    if run:
        run_tasks()
    return response


def ran(response):
    """The response, after a worker ran the tasks its request enqueued."""
    run_tasks()
    return response


def numbers_csv(count: int, start: int = 0) -> str:
    return IMPORT_HEADER + "".join(f"+1415555{index:04d},,,,,\n" for index in range(start, start + count))


def table_rows(response) -> list[tuple[str, str, str, str]]:
    """The rows table: (line, number, outcome, details) as shown."""
    found = re.findall(
        r'<tr>\s*<td>(\d+)</td>\s*<td class="mono">(.*?)</td>\s*'
        r'<td><span class="outcome outcome-\w+">(\w+)</span></td>\s*<td>(.*?)</td>\s*</tr>',
        html(response),
        re.S,
    )
    return [tuple(html_lib.unescape(value) for value in row) for row in found]


def totals(response) -> list[tuple[str, str]]:
    """The totals links, as (count, label)."""
    return re.findall(r"<strong>(\d+)</strong> ([^<]+?)</a>", html(response))


@pytest.fixture
def checked_job(owner_client, mixed_import) -> ImportJob:
    """The owner's upload of MIXED_CSV, its dry run done."""
    response = upload(owner_client, MIXED_CSV, "mixed.csv")
    assert response.status_code == 302
    return ImportJob.objects.get()


# --- access ----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_on_every_import_url(client, account):
    job = ImportJob.objects.create(account=account, filename="x.csv", content=MIXED_CSV, state="checked")

    assert_login_redirect(client.get(URL), URL)
    assert_login_redirect(upload(client, MIXED_CSV), URL)
    assert_login_redirect(client.get(job_url(job)), job_url(job))
    for action in ("apply", "recheck"):
        assert_login_redirect(ran(client.post(job_url(job, action))), job_url(job, action))

    job.refresh_from_db()
    assert job.state == "checked"
    assert ImportJob.objects.count() == 1
    assert not PhoneNumber.objects.exists()


@pytest.mark.parametrize("action", ["apply", "recheck"])
def test_apply_and_recheck_refuse_a_get(owner_client, checked_job, action):
    response = owner_client.get(job_url(checked_job, action))

    assert response.status_code == 405
    checked_job.refresh_from_db()
    assert checked_job.state == "checked"
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()


def test_posts_without_the_csrf_token_are_refused(owner, checked_job):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    assert upload(csrf_client, numbers_csv(1)).status_code == 403
    assert ran(csrf_client.post(job_url(checked_job, "apply"))).status_code == 403
    assert ran(csrf_client.post(job_url(checked_job, "recheck"))).status_code == 403

    assert ImportJob.objects.count() == 1
    checked_job.refresh_from_db()
    assert checked_job.state == "checked"
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()
    assert not NumberEvent.objects.exists()


def test_an_outsider_gets_404_for_another_accounts_job(client, outsider, checked_job):
    client.force_login(outsider)

    assert client.get(job_url(checked_job)).status_code == 404
    assert ran(client.post(job_url(checked_job, "apply"))).status_code == 404
    assert ran(client.post(job_url(checked_job, "recheck"))).status_code == 404

    checked_job.refresh_from_db()
    assert checked_job.state == "checked"
    assert ImportJobRow.objects.filter(job=checked_job, phase="import").count() == 0
    assert not PhoneNumber.objects.filter(number="+14155550100").exists()
    assert not NumberEvent.objects.exists()


def test_an_outsider_does_not_see_the_accounts_recent_imports(client, outsider, checked_job):
    client.force_login(outsider)

    response = client.get(URL)

    assert response.status_code == 200
    assert "mixed.csv" not in html(response)


def test_a_teammate_sees_the_job_and_applies_it_in_their_name(client, teammate, checked_job):
    client.force_login(teammate)

    response = client.get(job_url(checked_job))

    assert response.status_code == 200
    assert "mixed.csv" in html(response)
    assert table_rows(response) == MIXED_ROWS

    response = ran(client.post(job_url(checked_job, "apply")))

    assert response.status_code == 302
    created = PhoneNumber.objects.get(number="+14155550100")
    assert [event[4:] for event in events_of(created.pk)] == [("user", "bob", "import")]


# --- upload ----------------------------------------------------------------------------------


def test_the_upload_form_renders_with_the_accounts_recent_imports(owner_client, checked_job):
    response = owner_client.get(URL)

    assert response.status_code == 200
    body = html(response)
    assert 'enctype="multipart/form-data"' in body
    assert 'type="file" name="file"' in body
    assert "Upload and check" in body
    assert f'<a href="{job_url(checked_job)}">mixed.csv</a>' in body
    assert "alice" in body


def test_an_upload_shows_its_dry_run_and_writes_nothing(owner_client, mixed_import):
    response = upload(owner_client, MIXED_CSV, "mixed.csv")

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == job_url(job)

    response = owner_client.get(job_url(job))

    assert response.status_code == 200
    body = html(response)
    assert "<h2>Dry run</h2>" in body
    assert totals(response) == [
        ("1", "to create"),
        ("1", "to update"),
        ("1", "unchanged"),
        ("1", "with errors (skipped)"),
    ]
    assert table_rows(response) == MIXED_ROWS
    assert "Import 2 changes" in body
    assert "<progress" not in body and 'http-equiv="refresh"' not in body
    assert (job.state, job.filename, job.total_rows) == ("checked", "mixed.csv", 4)
    assert job.totals == {"create": 1, "update": 1, "unchanged": 1, "error": 1}
    assert job.created_by.username == "alice"
    assert_mixed_import_not_applied(mixed_import)


def test_applying_writes_the_numbers_and_shows_the_result(owner_client, checked_job, mixed_import, account):
    response = ran(owner_client.post(job_url(checked_job, "apply")))

    assert response.status_code == 302
    assert response["Location"] == job_url(checked_job)
    response = owner_client.get(job_url(checked_job))
    assert response.status_code == 200
    body = html(response)
    assert "<h2>Result</h2>" in body
    assert totals(response) == [
        ("1", "created"),
        ("1", "updated"),
        ("1", "unchanged"),
        ("1", "with errors (skipped)"),
    ]
    assert table_rows(response) == MIXED_ROWS
    assert "Import 2 changes" not in body
    assert "Run the dry run again" not in body
    checked_job.refresh_from_db()
    assert checked_job.state == "imported"
    assert checked_job.content == ""
    assert_mixed_import_applied(account, mixed_import, ("user", "alice", "import"))


def test_applying_twice_is_refused_the_second_time(owner_client, checked_job):
    ran(owner_client.post(job_url(checked_job, "apply")))
    events = NumberEvent.objects.count()
    numbers = list(PhoneNumber.objects.order_by("number").values())

    response = ran(owner_client.post(job_url(checked_job, "apply")))

    assert response.status_code == 302
    assert response["Location"] == job_url(checked_job)
    assert flashes(response) == ["Only a file whose dry run has finished can be imported, once."]
    assert NumberEvent.objects.count() == events
    assert list(PhoneNumber.objects.order_by("number").values()) == numbers
    assert ImportJobRow.objects.filter(job=checked_job, phase="import").count() == 4


def test_a_job_with_nothing_to_apply_offers_no_import_button(owner_client, mixed_import):
    upload(owner_client, IMPORT_HEADER + "+15550000002,,,,,\nnope,,,,,\n")
    job = ImportJob.objects.get()

    response = owner_client.get(job_url(job))

    assert response.status_code == 200
    body = html(response)
    assert "Nothing to import: every row is unchanged or has an error." in body
    assert f'action="{job_url(job, "apply")}"' not in body
    assert f'action="{job_url(job, "recheck")}"' in body


@pytest.mark.parametrize(
    "name, content, error",
    [
        ("empty.csv", b"", "The submitted file is empty."),
        ("blank.csv", b"\n", "The file needs a header line with a number column: " + COLUMNS + "."),
        (
            "no-number.csv",
            b"provider,status\nmanual,active\n",
            "The file needs a header line with a number column: " + COLUMNS + ".",
        ),
        (
            "unknown.csv",
            b"number,phone\n+14155550100,x\n",
            "Unknown column(s): phone. The columns are: " + COLUMNS + ".",
        ),
        (
            "latin1.csv",
            (IMPORT_HEADER + "+14155550100,,Café,,,\n").encode("latin-1"),
            "The file must be UTF-8 text (CSV).",
        ),
    ],
)
def test_an_invalid_file_is_refused_on_the_upload_page(owner_client, account, name, content, error):
    response = upload(owner_client, content, name)

    assert response.status_code == 200
    assert field_errors(response, "file") == [error]
    assert not ImportJob.objects.exists()
    assert not PhoneNumber.objects.exists()


def test_a_file_over_the_size_limit_is_refused(owner_client, account, settings):
    settings.IMPORT_MAX_BYTES = 2 * 1024 * 1024
    content = numbers_csv(1) + "\n" * (2 * 1024 * 1024)

    response = upload(owner_client, content)

    assert response.status_code == 200
    assert field_errors(response, "file") == ["The file is larger than 2.0\xa0MB."]
    assert not ImportJob.objects.exists()
    assert not PhoneNumber.objects.exists()


def test_the_size_limit_message_states_a_limit_under_a_megabyte(owner_client, account, settings):
    settings.IMPORT_MAX_BYTES = 100

    response = upload(owner_client, numbers_csv(10))

    assert response.status_code == 200
    [error] = field_errors(response, "file")
    assert error.startswith("The file is larger than ")
    assert "0 MB" not in error
    assert not ImportJob.objects.exists()


# --- the job's page --------------------------------------------------------------------------


def test_the_outcome_filter_shows_only_rows_of_that_outcome(owner_client, checked_job):
    response = owner_client.get(job_url(checked_job), {"outcome": "error"})

    assert response.status_code == 200
    assert table_rows(response) == [MIXED_ROWS[3]]
    assert '<a href="?outcome=error" aria-current="true">' in html(response)
    # The totals are the whole file's, whatever the filter.
    assert totals(response)[0] == ("1", "to create")


def test_an_unknown_outcome_shows_every_row(owner_client, checked_job):
    response = owner_client.get(job_url(checked_job), {"outcome": "bogus"})

    assert response.status_code == 200
    assert table_rows(response) == MIXED_ROWS
    assert '<a href="?" aria-current="true">All rows</a>' in html(response)


def test_rows_are_listed_in_file_order(owner_client, account, make_number):
    make_number(account, "+14155550003")
    text = (
        IMPORT_HEADER + "+14155550009,,,,,\nbad,,,,,\n+14155550003,,,,,inactive\n+14155550001,,,,,\n+14155550009,,,,,\n"
    )
    upload(owner_client, text)
    job = ImportJob.objects.get()

    response = owner_client.get(job_url(job))

    assert response.status_code == 200
    assert [(line, number, outcome) for line, number, outcome, _ in table_rows(response)] == [
        ("2", "+14155550009", "create"),
        ("3", "bad", "error"),
        ("4", "+14155550003", "update"),
        ("5", "+14155550001", "create"),
        ("6", "+14155550009", "error"),
    ]


def test_rows_are_paginated_100_a_page_keeping_the_filter(owner_client, account):
    upload(owner_client, numbers_csv(150))
    job = ImportJob.objects.get()

    first = owner_client.get(job_url(job))
    second = owner_client.get(job_url(job), {"outcome": "create", "page": "2"})

    assert first.status_code == 200
    assert [int(row[0]) for row in table_rows(first)] == list(range(2, 102))
    assert "1–100 of 150" in html(first)
    assert "Page 1 of 2" in html(first)
    assert 'href="?page=2" rel="next"' in html(first)
    assert second.status_code == 200
    assert [int(row[0]) for row in table_rows(second)] == list(range(102, 152))
    assert "101–150 of 150" in html(second)
    assert 'href="?outcome=create&amp;page=1" rel="prev"' in html(second)
    assert not PhoneNumber.objects.exists()


def test_a_recheck_after_the_data_changed_updates_the_dry_run(owner_client, checked_job, other_account, make_number):
    # Someone else registers the number the file would create.
    make_number(other_account, "+14155550100")

    response = ran(owner_client.post(job_url(checked_job, "recheck")))

    assert response.status_code == 302
    assert response["Location"] == job_url(checked_job)
    response = owner_client.get(job_url(checked_job))
    assert response.status_code == 200
    assert totals(response) == [
        ("0", "to create"),
        ("1", "to update"),
        ("1", "unchanged"),
        ("2", "with errors (skipped)"),
    ]
    assert table_rows(response)[0] == ("2", "+14155550100", "error", "This number is already registered.")
    assert "Import 1 change<" in html(response)
    checked_job.refresh_from_db()
    assert checked_job.state == "checked"
    assert checked_job.totals == {"create": 0, "update": 1, "unchanged": 1, "error": 2}
    assert ImportJobRow.objects.filter(job=checked_job, phase="dry_run").count() == 4
    assert PhoneNumber.objects.get(number="+14155550100").account == other_account


def test_an_imported_job_cannot_be_checked_again(owner_client, checked_job):
    ran(owner_client.post(job_url(checked_job, "apply")))

    response = ran(owner_client.post(job_url(checked_job, "recheck")))

    assert response.status_code == 302
    assert flashes(response) == ["This file cannot be checked again now."]
    checked_job.refresh_from_db()
    assert checked_job.state == "imported"


# Session, the user with their account (named in the header), the job, the rows' count, a
# page of rows.
JOB_PAGE_QUERIES = 5


@pytest.mark.parametrize("rows", [10, 100])
def test_the_job_page_runs_the_same_number_of_queries_whatever_the_rows(
    owner_client, account, rows, django_assert_num_queries
):
    upload(owner_client, numbers_csv(rows))
    job = ImportJob.objects.get()

    with django_assert_num_queries(JOB_PAGE_QUERIES):
        response = owner_client.get(job_url(job))

    assert response.status_code == 200
    assert len(table_rows(response)) == rows


# --- runs are tasks of the queue -------------------------------------------------------------


def beat(seconds_ago: float = 0) -> None:
    """A worker's heartbeat, seen this long ago."""
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    WorkerHeartbeat.objects.update_or_create(
        worker_id="w1", defaults={"host": "h", "pid": 1, "started_at": seen, "last_seen": seen}
    )


def test_every_run_is_a_task_and_the_page_follows_it(owner_client, account):
    from django_tasks_db.models import DBTaskResult

    beat()
    response = upload(owner_client, numbers_csv(20), run=False)

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.state, job.phase, job.processed_rows) == ("checking", "dry_run", 0)
    task = DBTaskResult.objects.get()
    assert (task.status, task.task_path, task.args_kwargs["args"]) == (
        "READY",
        "numbers_app.import_jobs.import_job_task",
        [job.pk],
    )
    assert job.task_id == str(task.pk)
    response = owner_client.get(job_url(job))
    assert response.status_code == 200
    body = html(response)
    assert '<meta http-equiv="refresh" content="2">' in body
    assert '<progress id="import-progress" max="20" value="0">' in body
    assert "Checking 0 of 20 rows" in body
    assert "No worker is running" not in body

    assert run_tasks() == 1

    response = owner_client.get(job_url(job))
    body = html(response)
    assert "<progress" not in body and 'http-equiv="refresh"' not in body
    assert totals(response)[0] == ("20", "to create")
    assert "Import 20 changes" in body
    assert not PhoneNumber.objects.exists()

    owner_client.post(job_url(job, "apply"))

    body = html(owner_client.get(job_url(job)))
    assert '<meta http-equiv="refresh" content="2">' in body
    assert "Importing 0 of 20 rows" in body
    assert not PhoneNumber.objects.exists()

    assert run_tasks() == 1

    response = owner_client.get(job_url(job))
    assert "<h2>Result</h2>" in html(response)
    assert totals(response)[0] == ("20", "created")
    job.refresh_from_db()
    assert (job.state, job.processed_rows) == ("imported", 20)
    assert PhoneNumber.objects.filter(account=account).count() == 20
    assert set(NumberEvent.objects.values_list("action", "actor_type", "actor_name", "channel")) == {
        ("created", "user", "alice", "import")
    }
    assert NumberEvent.objects.count() == 20
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_waiting_run_says_when_no_worker_is_running(owner_client, account, settings):
    settings.TASKS_NO_WORKER_SECONDS = 5
    upload(owner_client, numbers_csv(3), run=False)
    job = ImportJob.objects.get()
    message = "No worker is running: this job waits until one starts"

    assert message in html(owner_client.get(job_url(job)))  # no worker ever seen
    beat(seconds_ago=6)
    assert message in html(owner_client.get(job_url(job)))
    assert message in html(owner_client.get("/jobs/"))
    beat(seconds_ago=1)
    assert message not in html(owner_client.get(job_url(job)))
    assert message not in html(owner_client.get("/jobs/"))

    run_tasks()
    WorkerHeartbeat.objects.all().delete()
    # Nothing waits: nothing to say.
    assert message not in html(owner_client.get(job_url(job)))


def test_an_import_that_fails_part_way_shows_what_it_imported_and_resumes(owner_client, account, monkeypatch, caplog):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    upload(owner_client, numbers_csv(5))
    job = ImportJob.objects.get()
    original, calls = EventLog.save, []

    def fail_on_the_second_batch(log):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        original(log)

    monkeypatch.setattr(EventLog, "save", fail_on_the_second_batch)

    ran(owner_client.post(job_url(job, "apply")))
    response = owner_client.get(job_url(job))

    assert response.status_code == 200
    page = html(response)
    assert "Result" in page and "Dry run</h2>" not in page
    assert "The run stopped on an unexpected error. The rows before row 3 were imported; the rest were not." in page
    assert "Resume the import" in page
    assert [row[2] for row in table_rows(response)] == ["create", "create"]
    assert PhoneNumber.objects.filter(account=account).count() == 2
    failure = next(record for record in caplog.records if record.getMessage() == f"Import job {job.pk} failed")
    assert failure.exc_info and "the database went away" in str(failure.exc_info[1])

    monkeypatch.setattr(EventLog, "save", original)
    response = ran(owner_client.post(job_url(job, "resume")))

    assert response.status_code == 302
    response = owner_client.get(job_url(job))
    assert totals(response)[0] == ("5", "created")
    assert [row[0] for row in table_rows(response)] == ["2", "3", "4", "5", "6"]
    job.refresh_from_db()
    assert (job.state, job.processed_rows, job.error) == ("imported", 5, "")
    assert PhoneNumber.objects.filter(account=account).count() == 5
    assert NumberEvent.objects.filter(action="created").count() == 5
    assert flashes(ran(owner_client.post(job_url(job, "resume")))) == ["Only a failed import can be resumed."]


def test_a_run_that_loses_the_database_is_resumed_after_its_last_committed_batch(owner_client, account, monkeypatch):
    """The job's rows and progress are written in each batch's transaction: a batch whose
    record fails is rolled back whole, and the reaper's new task continues after the last
    committed batch."""
    from django.db import OperationalError

    from numbers_app import import_jobs
    from numbers_app.tasks import reap_jobs

    monkeypatch.setattr(imports, "BATCH_SIZE", 3)
    # A number repeated across batches is still refused after the resume.
    content = numbers_csv(10) + "+14155550001,,,,,\n"
    upload(owner_client, content)
    job = ImportJob.objects.get()
    owner_client.post(job_url(job, "apply"))
    original, calls = import_jobs.insert_many, []

    def lose_the_database_on_the_third_batch(model, rows):
        calls.append(1)
        if len(calls) == 3:
            raise OperationalError("server closed the connection unexpectedly")
        original(model, rows)

    monkeypatch.setattr(import_jobs, "insert_many", lose_the_database_on_the_third_batch)
    run_tasks()

    job.refresh_from_db()
    assert (job.state, job.processed_rows, job.attempts) == ("importing", 6, 0)
    # Two whole batches, not a row of the third.
    assert PhoneNumber.objects.count() == 6
    assert NumberEvent.objects.count() == 6
    assert ImportJobRow.objects.filter(job=job, phase="import").count() == 6
    body = html(owner_client.get(job_url(job)))
    assert "Importing 6 of 11 rows" in body

    monkeypatch.setattr(import_jobs, "insert_many", original)
    assert reap_jobs.call() == 1
    job.refresh_from_db()
    assert job.attempts == 1
    assert "Resumed 1 time after its worker stopped" in html(owner_client.get(job_url(job)))
    run_tasks()

    job.refresh_from_db()
    assert (job.state, job.processed_rows) == ("imported", 11)
    assert job.totals == {"create": 10, "update": 0, "unchanged": 0, "error": 1}
    assert PhoneNumber.objects.count() == 10
    assert NumberEvent.objects.filter(action="created").count() == 10
    lines = list(ImportJobRow.objects.filter(job=job, phase="import").values_list("line", flat=True))
    assert sorted(lines) == list(range(2, 13))
    assert ImportJobRow.objects.get(job=job, phase="import", line=12).message == "The number is also on line 3."


def test_a_job_that_loses_its_worker_three_times_fails_with_a_rerun_button(owner_client, account, monkeypatch):
    from django_tasks_db.models import DBTaskResult

    from numbers_app.tasks import reap_jobs

    upload(owner_client, numbers_csv(4))
    job = ImportJob.objects.get()
    owner_client.post(job_url(job, "apply"))
    for attempt in range(4):
        # The task was claimed by a worker that then died (no heartbeat).
        DBTaskResult.objects.filter(status="READY").update(
            status="RUNNING", worker_ids=["dead-worker"], started_at=timezone.now() - timedelta(minutes=5)
        )
        assert reap_jobs.call() == 1
        job.refresh_from_db()
        assert job.attempts == min(attempt + 1, 3)

    assert job.state == "failed"
    assert job.error == (
        "The run was interrupted 4 times (its worker stopped) and was given up. "
        "The first 0 rows were imported; resume the import for the rest."
    )
    assert DBTaskResult.objects.filter(status="FAILED").count() == 4
    body = html(owner_client.get(job_url(job)))
    assert "given up" in body and "Resume the import" in body

    ran(owner_client.post(job_url(job, "resume")))
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("imported", 0)
    assert PhoneNumber.objects.count() == 4
