"""Our worker around django_tasks_db's: the same claim of a task (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, an exclusive transaction on SQLite), plus what a deployment needs and
the stock `db_worker` lacks:

- the database going away does not stop it: it logs once, waits (backing off up to 5 s) and
  goes on when the database is back;
- a heartbeat row, written every few seconds by a thread (also while a long task runs), so
  that a dead worker can be told from a busy one;
- the periodic tasks of settings.PERIODIC_TASKS, enqueued once per slot across all workers.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from .models import PeriodicRun, WorkerHeartbeat

logger = logging.getLogger("kalem_site.tasks")

DATABASE_ERRORS = (OperationalError, InterfaceError)
# The longest wait between two tries while the database is unreachable.
MAX_BACKOFF_SECONDS = 5.0
RUNNING = "RUNNING"
FAILED = "FAILED"


def worker_seen(within_seconds: float | None = None) -> bool:
    """Whether any worker's heartbeat was seen lately (settings.TASKS_NO_WORKER_SECONDS)."""
    within = settings.TASKS_NO_WORKER_SECONDS if within_seconds is None else within_seconds
    return WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - timedelta(seconds=within)).exists()


def live_worker_ids() -> set[str]:
    since = timezone.now() - timedelta(seconds=settings.TASKS_WORKER_LOST_SECONDS)
    return set(WorkerHeartbeat.objects.filter(last_seen__gte=since).values_list("worker_id", flat=True))


def mark_lost(result: DBTaskResult, reason: str) -> None:
    """Record a RUNNING task whose worker is gone as failed (only if it is still RUNNING)."""
    DBTaskResult.objects.filter(pk=result.pk, status=RUNNING).update(
        status=FAILED,
        finished_at=timezone.now(),
        exception_class_path="kalem_site.tasks.workers.WorkerLost",
        traceback=reason,
        return_value=None,
    )


class WorkerLost(Exception):
    """The worker running a task stopped (killed, or lost its database) before it finished."""


def task_lost(task_id: str) -> bool:
    """Whether the task of this id will not finish its work: it is gone, it has ended, or it
    is RUNNING on a worker whose heartbeat stopped (then it is marked failed here). A task
    waiting for a worker, or running on a live one, is not lost."""
    result = DBTaskResult.objects.filter(pk=task_id).only("status", "worker_ids", "started_at").first()
    if result is None or result.status not in ("READY", RUNNING):
        return True
    if result.status == RUNNING:
        worker = result.worker_ids[-1] if result.worker_ids else None
        if worker not in live_worker_ids():
            mark_lost(result, f"Worker {worker} stopped sending its heartbeat while running this task.")
            return True
    return False


def reap_lost_results() -> int:
    """Mark failed every RUNNING task whose worker is dead. Returns how many."""
    alive = live_worker_ids()
    # A worker that started a task less than a heartbeat ago may not be seen yet.
    grace = timezone.now() - timedelta(seconds=settings.TASKS_WORKER_LOST_SECONDS)
    lost = 0
    for result in DBTaskResult.objects.running().filter(started_at__lt=grace).only("worker_ids"):
        worker = result.worker_ids[-1] if result.worker_ids else None
        if worker not in alive:
            logger.warning("Task %s was running on worker %s, which stopped; marked failed.", result.pk, worker)
            mark_lost(result, f"Worker {worker} stopped sending its heartbeat while running this task.")
            lost += 1
    return lost


def reap_own_results(worker_id: str) -> int:
    """Mark failed the tasks RUNNING under `worker_id` when a worker of that id starts: it
    runs none yet, so they belong to an earlier process of the same id that died (its
    heartbeat, now renewed by the new process, would never show them lost). Their jobs are
    then taken up again by the reaper."""
    lost = 0
    for result in DBTaskResult.objects.running().only("worker_ids"):
        if result.worker_ids and result.worker_ids[-1] == worker_id:
            logger.warning("Task %s was running on an earlier worker %s; marked failed.", result.pk, worker_id)
            mark_lost(result, f"Worker {worker_id} was restarted while running this task.")
            lost += 1
    return lost


def enqueue_periodic(now: float | None = None) -> list[str]:
    """Enqueue each periodic task whose current slot has no run yet. Returns their names."""
    now = time.time() if now is None else now
    enqueued = []
    for name, (period, path) in settings.PERIODIC_TASKS.items():
        slot = int(now // period)
        try:
            with transaction.atomic():
                PeriodicRun.objects.create(name=name, slot=slot)
                import_string(path).enqueue()
        except IntegrityError:
            continue  # another worker enqueued this slot
        enqueued.append(name)
    return enqueued


class Heartbeat(threading.Thread):
    """Writes the worker's heartbeat row every TASKS_HEARTBEAT_SECONDS, on its own connection."""

    def __init__(self, worker_id: str):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.started_at = timezone.now()
        self.stopped = threading.Event()
        self.failing = False

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "last_seen": timezone.now(),
            },
        )

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                self.beat()
                self.failing = False
            except DATABASE_ERRORS as error:
                if not self.failing:
                    logger.warning("Heartbeat of worker %s not written: %s", self.worker_id, error)
                self.failing = True
                connections.close_all()
            self.stopped.wait(settings.TASKS_HEARTBEAT_SECONDS)
        connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except DATABASE_ERRORS:
            pass


class Worker(DBWorker):
    """django_tasks_db's worker with the loop rewritten to survive database outages, a
    heartbeat, and the periodic tasks."""

    def __init__(self, *, periodic: bool = True, heartbeat: bool = True, **options):
        super().__init__(**options)
        self.periodic = periodic
        self.heartbeat = Heartbeat(self.worker_id) if heartbeat else None
        self.next_schedule = 0.0
        # Tasks left RUNNING under this worker's id by an earlier process of the same id (a
        # systemd unit restarted after a kill) are lost: looked for on the first good turn.
        self.reaped_own = False
        self.outage_since: float | None = None
        # Tasks whose end could not be written because the database went away mid-task.
        self.unrecorded: list[DBTaskResult] = []

    def run(self) -> None:
        logger.info("Starting worker %s (pid %s)", self.worker_id, os.getpid())
        if self.heartbeat:
            self.heartbeat.start()
        try:
            self.loop()
        finally:
            if self.heartbeat:
                self.heartbeat.stop()

    def loop(self) -> None:
        backoff = 0.5
        while self.running:
            try:
                ran, empty = self.step()
            except DATABASE_ERRORS as error:
                if self.batch:
                    raise  # a one-off run reports the error rather than waiting for the database
                if self.outage_since is None:
                    self.outage_since = time.monotonic()
                    logger.error("Database unreachable, retrying every few seconds: %s", error)
                connections.close_all()
                time.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)
                continue
            if self.outage_since is not None:
                logger.warning("Database reachable again after %.1f s", time.monotonic() - self.outage_since)
                self.outage_since = None
            backoff = 0.5
            if self.batch and empty:
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                return
            if self.running and not ran:
                time.sleep(self.interval)

    def step(self) -> tuple[bool, bool]:
        """One turn: record what an outage left unrecorded, enqueue the periodic tasks when
        due, then claim and run one task. Returns (ran a task, the queue was empty)."""
        close_old_connections()
        if not self.reaped_own:
            reap_own_results(self.worker_id)
            self.reaped_own = True
        while self.unrecorded:
            mark_lost(self.unrecorded[0], "The database went away while this task ran.")
            self.unrecorded.pop(0)
        if self.periodic and time.monotonic() >= self.next_schedule:
            enqueue_periodic()
            self.next_schedule = time.monotonic() + settings.TASKS_SCHEDULE_SECONDS
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        try:
            with exclusive_transaction(tasks.db):
                result = tasks.get_locked()
                if result is not None:
                    result.claim(self.worker_id)
        except OperationalError as error:
            if is_locked_database_exception(error):
                return False, False
            raise
        if result is None:
            return False, True
        try:
            self.run_task(result)
        except DATABASE_ERRORS:
            # The task's failure could not be written: mark it when the database is back.
            self.unrecorded.append(result)
            raise
        close_old_connections()
        return True, False
