"""The queue's faults, with real `manage.py worker` processes (not eager mode): a worker
SIGKILLed in the middle of an import or a Twilio sync, three workers taking 100 tasks from one
queue on PostgreSQL, the database unreachable for 10 s, a task that raises. Each test has a
database of its own (SQLite, or PostgreSQL when the suite runs on it)."""

import json
import os
import time
import urllib.request
from collections import Counter

import pytest
from cryptography.fernet import Fernet

from tests.twilio.fake import FakeTwilio

from .servers import gunicorn, manage, served_database, server_env
from .workers import FAST_CLOCKS, query, throwaway_postgres, wait_until, workers

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 12_000
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f3a1c9e2b7d64a0e9c8b5d2f1a0e7c6b"

SETUP = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from kalem_site.accounts.models import Account, User
account = Account.objects.create(name="Acme")
user = User.objects.create_user(username="alice", password="alice-password", account=account)
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "kalem_site.accounts.backends.AccountUserBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()})
session.create()
"""


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def page(base: str, path: str, session: str) -> str:
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": f"sessionid={session}", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def one(database_url: str, sql: str, params: tuple = ()):
    return query(database_url, sql, params)[0][0]


def test_a_worker_killed_mid_import_leaves_it_to_another_and_every_row_is_imported_once(tmp_path):
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(
        "number,provider,voice_agent,text_agent,trunk,status\n"
        + "".join(f"+1415{3000000 + i:07d},manual,,,,active\n" for i in range(ROWS))
    )
    with served_database(tmp_path) as url:
        env = server_env(url, **FAST_CLOCKS)
        manage(env, "migrate", "--no-input", "-v0")
        session = shell(
            env,
            SETUP
            + f"""
from numbers_app.import_jobs import import_job_create, import_job_start
job = import_job_create(account=account, user=user, filename="big.csv", data=open({str(csv_path)!r}, "rb").read())
import_job_start(job=job, phase="dry_run")
print(session.session_key)""",
        )
        job = one(url, "SELECT id FROM numbers_app_importjob")
        job_page = f"/numbers/import/{job}/"

        def state():
            return query(url, "SELECT state, processed_rows, attempts FROM numbers_app_importjob")[0]

        # The pages rendered by a real server (DEBUG for static files without collectstatic).
        web_env = {**env, "DEBUG": "1"}
        with gunicorn(web_env, workers=1, log=tmp_path / "web.log") as base, workers(env, tmp_path, 1, "a") as [first]:
            wait_until(lambda: state()[0] == "checked", 120, "the dry run did not finish")
            shell(
                env,
                f"""
from kalem_site.actors import Actor, Channel
from numbers_app.import_jobs import import_job_start
from numbers_app.models import ImportJob
job = ImportJob.objects.select_related("created_by").get(pk={job})
print(import_job_start(job=job, phase="import", actor=Actor.for_user(job.created_by, Channel.IMPORT)))""",
            )
            wait_until(lambda: state()[1] >= 3000, 120, "the import did not start", interval=0.01)
            first.kill()

            killed_state, done_at_kill, _ = state()
            numbers = one(url, "SELECT COUNT(*) FROM numbers_app_phonenumber")
            created = one(url, "SELECT COUNT(*) FROM numbers_app_numberevent WHERE action = 'created'")
            recorded = one(url, "SELECT COUNT(*) FROM numbers_app_importjobrow WHERE phase = 'import'")
            # Whole batches only, and the progress says exactly what was written.
            assert killed_state == "importing"
            assert 3000 <= done_at_kill < ROWS and done_at_kill % 1000 == 0
            assert numbers == created == recorded == done_at_kill
            body = page(base, job_page, session)
            assert f"Importing {done_at_kill:,} of {ROWS:,} rows" in body
            assert '<meta http-equiv="refresh" content="2">' in body
            # No heartbeat for TASKS_NO_WORKER_SECONDS (2 s here): the page says so.
            time.sleep(2.5)
            assert "No worker is running" in page(base, job_page, session)

            with workers(env, tmp_path, 1, "b") as [second]:
                wait_until(lambda: state()[2] == 1, 60, "the import was not taken up again")
                wait_until(lambda: state()[0] == "imported", 180, "the resumed import did not finish")
                assert second.alive

            body = page(base, job_page, session)
            assert "<h2>Result</h2>" in body and f"<strong>{ROWS:,}</strong> created" in body
            assert "No worker is running" not in body

        assert state() == ("imported", ROWS, 1)
        assert one(url, "SELECT COUNT(*) FROM numbers_app_phonenumber") == ROWS
        assert one(url, "SELECT COUNT(DISTINCT number) FROM numbers_app_phonenumber") == ROWS
        created_events = query(
            url, "SELECT number, COUNT(*) FROM numbers_app_numberevent WHERE action = 'created' GROUP BY number"
        )
        duplicates = [number for number, count in created_events if count != 1]
        assert (len(created_events), duplicates) == (ROWS, [])
        assert one(url, "SELECT COUNT(*) FROM numbers_app_numberevent") == ROWS
        lines = query(url, "SELECT line FROM numbers_app_importjobrow WHERE phase = 'import'")
        assert sorted(line for (line,) in lines) == list(range(2, ROWS + 2))
        runs = query(
            url,
            "SELECT worker_ids, status, traceback FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = 'numbers_app.import_jobs.import_job_task' ORDER BY enqueued_at",
        )
        # The dry run, the import killed with worker a0 (marked failed by the reaper), its resumption on b0.
        assert [(json.loads(ids) if isinstance(ids, str) else ids, status) for ids, status, _ in runs] == [
            (["a0"], "SUCCESSFUL"),
            (["a0"], "FAILED"),
            (["b0"], "SUCCESSFUL"),
        ]
        assert "Worker a0 stopped sending its heartbeat" in runs[1][2]
        print(
            f"\nSIGKILL mid-import: killed after {done_at_kill} of {ROWS} rows; resumed; "
            f"{ROWS} numbers, {len(created_events)} created events, {len(duplicates)} duplicates"
        )


def test_a_worker_killed_mid_sync_leaves_it_to_another_and_the_sync_is_exact(tmp_path):
    listed = [f"+1628{5000000 + i:07d}" for i in range(3000)]
    with (
        FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, numbers=listed) as fake,
        served_database(tmp_path) as url,
    ):
        fake.delay = 0.5  # per page of 1000: the sync is seen running
        env = server_env(url, TWILIO_API_BASE_URL=fake.base_url, CREDENTIALS_KEY=Fernet.generate_key().decode())
        manage(env, "migrate", "--no-input", "-v0")
        shell(
            env,
            SETUP
            + f"""
from kalem_site.actors import Actor, Channel
from numbers_app.twilio import twilio_credentials_set
from numbers_app.twilio_jobs import twilio_sync_job_start
twilio_credentials_set(account=account, account_sid={ACCOUNT_SID!r}, auth_token={AUTH_TOKEN!r})
print(twilio_sync_job_start(account=account, user=user, actor=Actor.for_user(user, Channel.IMPORT)).pk)""",
        )

        def state():
            return query(url, "SELECT state, listed, attempts FROM numbers_app_twiliosyncjob")[0]

        with workers(env, tmp_path, 1, "a") as [first]:
            wait_until(lambda: state()[0] == "running" and state()[1] >= 1000, 60, "the sync did not start")
            first.kill()
        assert state()[0] == "running"
        # Killed before its one transaction committed: nothing was written.
        assert one(url, "SELECT COUNT(*) FROM numbers_app_phonenumber") == 0
        assert one(url, "SELECT COUNT(*) FROM numbers_app_numberevent") == 0

        with workers(env, tmp_path, 1, "b"):
            wait_until(lambda: state()[0] == "done", 120, "the sync was not run again")

        assert state() == ("done", 3000, 1)
        report = query(url, "SELECT report FROM numbers_app_twiliosyncjob")[0][0]
        report = json.loads(report) if isinstance(report, str) else report  # psycopg decodes JSON itself
        assert sorted(report["created"]) == listed
        numbers = [number for (number,) in query(url, "SELECT number FROM numbers_app_phonenumber")]
        assert sorted(numbers) == listed
        created = query(url, "SELECT number FROM numbers_app_numberevent WHERE action = 'created'")
        duplicates = [number for number, count in Counter(number for (number,) in created).items() if count > 1]
        assert (len(created), duplicates) == (3000, [])
        print(f"\nSIGKILL mid-sync: 3000 listed, {len(numbers)} numbers, {len(duplicates)} duplicates")


def enqueue_notes(env: dict, count: int, seconds: float, start: int = 0) -> None:
    shell(
        env,
        f"from tests.live.sample_tasks import note\n"
        f"for n in range({start}, {start + count}): note.enqueue(n, {seconds})\nprint('ok')",
    )


def notes(path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def test_three_workers_on_postgresql_run_each_of_100_tasks_once(tmp_path):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("SKIP LOCKED across workers: PostgreSQL only (SQLite serialises the claims in one file)")
    note_file = tmp_path / "notes"
    with served_database(tmp_path) as url:
        env = server_env(url, TASK_NOTES=str(note_file))
        manage(env, "migrate", "--no-input", "-v0")
        with workers(env, tmp_path, 3) as running:
            enqueue_notes(env, 100, 0.05)
            wait_until(
                lambda: one(
                    url,
                    "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult WHERE status = 'SUCCESSFUL' "
                    "AND task_path LIKE 'tests.%%'",
                )
                == 100,
                120,
                "the 100 tasks did not all complete",
            )
            assert all(worker.alive for worker in running)
        runs = Counter(n for n, *_ in notes(note_file))
        assert sorted(runs) == sorted(str(n) for n in range(100))
        assert set(runs.values()) == {1}
        claims = query(url, "SELECT worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE 'tests.%%'")
        claimed_by = [json.loads(ids) if isinstance(ids, str) else ids for (ids,) in claims]
        assert all(len(ids) == 1 for ids in claimed_by)
        by_worker = Counter(ids[0] for ids in claimed_by)
        assert len(by_worker) == 3, by_worker
        print(f"\n3 workers, 100 tasks: each ran once; per worker {dict(by_worker)}")


def test_workers_survive_the_database_being_unreachable_for_10_seconds(tmp_path):
    note_file = tmp_path / "notes"
    with throwaway_postgres() as server:
        env = server_env(server.url, TASK_NOTES=str(note_file))
        manage(env, "migrate", "--no-input", "-v0")
        with workers(env, tmp_path, 2) as running:
            enqueue_notes(env, 10, 0.0)
            wait_until(lambda: len(notes(note_file)) == 10, 60, "the first tasks did not run")
            server.stop()
            time.sleep(10)
            assert all(worker.alive for worker in running), [worker.output()[-2000:] for worker in running]
            server.start()
            enqueue_notes(env, 10, 0.0, start=10)
            wait_until(lambda: len(notes(note_file)) == 20, 60, "the workers did not resume")
            # One worker may have run all ten while the other still waits out its backoff
            # (at most MAX_BACKOFF_SECONDS): each notices the database is back by itself.
            wait_until(
                lambda: all("Database reachable again" in worker.output() for worker in running),
                15,
                "a worker did not notice the database was back",
            )
            assert all(worker.alive for worker in running)
        statuses = Counter(
            status
            for (status,) in query(
                server.url, "SELECT status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE 'tests.%%'"
            )
        )
        assert statuses == {"SUCCESSFUL": 20}
        for worker in running:
            log = worker.output()
            # One line when the database goes, one when it is back: no crash loop, no flood.
            assert log.count("Database unreachable") == 1, log[-3000:]
            assert log.count("Database reachable again") == 1, log[-3000:]
            assert "Traceback" not in log, log[-3000:]


def test_a_task_that_raises_is_logged_with_its_traceback_and_the_worker_goes_on(tmp_path):
    note_file = tmp_path / "notes"
    with served_database(tmp_path) as url:
        env = server_env(url, TASK_NOTES=str(note_file))
        manage(env, "migrate", "--no-input", "-v0")
        shell(
            env,
            "from tests.live.sample_tasks import explode, note\nexplode.enqueue()\nnote.enqueue(1)\nprint('ok')",
        )
        with workers(env, tmp_path, 1) as [worker]:
            wait_until(lambda: len(notes(note_file)) == 1, 60, "the task after the failing one did not run")
            assert worker.alive
        log = worker.output()
        assert "Traceback (most recent call last)" in log and "ZeroDivisionError: a task that raises" in log
        results = dict(
            query(
                url, "SELECT task_path, status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE 'tests.%%'"
            )
        )
        assert results == {"tests.live.sample_tasks.explode": "FAILED", "tests.live.sample_tasks.note": "SUCCESSFUL"}
