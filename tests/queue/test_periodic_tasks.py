"""The periodic tasks: enqueued once per slot however many workers try, and the purges they
run (idempotency records are in tests/api/test_idempotency.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kalem_site.accounts.models import RateLimitCounter
from kalem_site.accounts.tasks import purge_rate_limit_counters
from kalem_site.tasks.models import PeriodicRun, WorkerHeartbeat
from kalem_site.tasks.tasks import purge_task_results, purge_worker_records, reap_lost_tasks
from kalem_site.tasks.workers import enqueue_periodic, reap_own_results
from numbers_app.models import ImportJob, TwilioSyncJob
from numbers_app.tasks import purge_import_jobs
from tests.tasks import run_tasks


def test_each_periodic_task_is_enqueued_once_per_slot_whatever_the_workers(db, settings):
    settings.PERIODIC_TASKS = {
        "hourly": (3600, "kalem_site.tasks.tasks.purge_worker_records"),
        "minutely": (60, "kalem_site.tasks.tasks.purge_task_results"),
    }
    now = 3600 * 1000 + 10

    assert enqueue_periodic(now) == ["hourly", "minutely"]
    # Other workers, the same slots.
    assert enqueue_periodic(now + 1) == []
    assert enqueue_periodic(now + 49) == []
    # The next minute: only the minutely one.
    assert enqueue_periodic(now + 60) == ["minutely"]

    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "kalem_site.tasks.tasks.purge_task_results",
        "kalem_site.tasks.tasks.purge_task_results",
        "kalem_site.tasks.tasks.purge_worker_records",
    ]
    assert set(PeriodicRun.objects.values_list("name", "slot")) == {
        ("hourly", 1000),
        ("minutely", 60000),
        ("minutely", 60001),
    }
    assert run_tasks() == 3
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_every_declared_periodic_task_runs(db, settings):
    assert run_tasks(periodic=True) == len(settings.PERIODIC_TASKS)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_rate_limit_counters_of_ended_windows_are_purged(db, settings):
    settings.API_RATE_LIMIT = "100/hour"
    now = int(timezone.now().timestamp())
    current = now // 3600 * 3600
    RateLimitCounter.objects.create(identity="t:old", window_start=current - 3600, count=5)
    RateLimitCounter.objects.create(identity="t:now", window_start=current, count=7)

    assert purge_rate_limit_counters.call() == 1

    assert list(RateLimitCounter.objects.values_list("identity", flat=True)) == ["t:now"]


def test_import_and_sync_jobs_are_purged_after_7_days_but_not_while_running(account):
    old = timezone.now() - timedelta(days=8)
    done = ImportJob.objects.create(account=account, filename="a.csv", content="x", state="imported")
    running = ImportJob.objects.create(account=account, filename="b.csv", content="x", state="importing")
    recent = ImportJob.objects.create(account=account, filename="c.csv", content="x", state="checked")
    sync = TwilioSyncJob.objects.create(account=account, state="done")
    ImportJob.objects.filter(pk__in=[done.pk, running.pk]).update(created_at=old)
    TwilioSyncJob.objects.filter(pk=sync.pk).update(created_at=old)

    assert purge_import_jobs.call() == 2

    assert set(ImportJob.objects.values_list("pk", flat=True)) == {running.pk, recent.pk}
    assert not TwilioSyncJob.objects.exists()


def test_finished_task_results_are_purged_after_7_days(db):
    from tests.live.sample_tasks import explode

    results = [explode.enqueue() for _ in range(3)]
    run_tasks()
    DBTaskResult.objects.filter(pk=results[0].id).update(finished_at=timezone.now() - timedelta(days=8))
    waiting = explode.enqueue()
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=timezone.now() - timedelta(days=30))

    assert purge_task_results.call() == 1

    assert DBTaskResult.objects.count() == 3
    assert DBTaskResult.objects.filter(pk=waiting.id, status="READY").exists()


def test_old_heartbeats_and_runs_are_purged(db):
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="gone", host="h", pid=1, started_at=now, last_seen=now - timedelta(days=2))
    WorkerHeartbeat.objects.create(worker_id="here", host="h", pid=2, started_at=now, last_seen=now)
    PeriodicRun.objects.create(name="x", slot=1)
    PeriodicRun.objects.filter(slot=1).update(enqueued_at=now - timedelta(days=2))
    PeriodicRun.objects.create(name="x", slot=2)

    assert purge_worker_records.call() == 2

    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["here"]
    assert list(PeriodicRun.objects.values_list("slot", flat=True)) == [2]


@pytest.mark.parametrize("seen_seconds_ago, lost", [(1, False), (60, True)])
def test_a_task_running_on_a_dead_worker_is_marked_failed(db, seen_seconds_ago, lost):
    from tests.live.sample_tasks import note

    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w", host="h", pid=1, started_at=now, last_seen=now - timedelta(seconds=seen_seconds_ago)
    )
    result = note.enqueue(1)
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING", worker_ids=["w"], started_at=now - timedelta(minutes=2)
    )

    assert reap_lost_tasks.call() == int(lost)

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == ("FAILED" if lost else "RUNNING")
    if lost:
        assert row.traceback == "Worker w stopped sending its heartbeat while running this task."


def test_a_worker_restarted_under_the_same_id_marks_its_earlier_running_tasks_failed(db):
    """A systemd unit gives a restarted worker the id it had: the heartbeat the new process
    writes must not hide the tasks the killed one left RUNNING."""
    from tests.live.sample_tasks import note

    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="host-1", host="h", pid=1, started_at=now, last_seen=now)
    mine, other = note.enqueue(1), note.enqueue(2)
    DBTaskResult.objects.filter(pk=mine.id).update(status="RUNNING", worker_ids=["host-1"], started_at=now)
    DBTaskResult.objects.filter(pk=other.id).update(status="RUNNING", worker_ids=["host-2"], started_at=now)

    assert reap_own_results("host-1") == 1

    assert DBTaskResult.objects.get(pk=mine.id).status == "FAILED"
    assert DBTaskResult.objects.get(pk=mine.id).traceback == "Worker host-1 was restarted while running this task."
    assert DBTaskResult.objects.get(pk=other.id).status == "RUNNING"
