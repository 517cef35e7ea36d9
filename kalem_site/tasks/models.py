"""What the workers record beside the queue itself (django_tasks_db's DBTaskResult)."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """A running `worker` process, seen every few seconds. A worker whose heartbeat stops is
    dead: the reaper takes up its tasks again, and the job pages say when no worker runs."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen"]
        indexes = [
            # "Is any worker alive?" and the purge of old heartbeats: WHERE last_seen > ?
            models.Index(fields=["last_seen"], name="workerheartbeat_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.host}:{self.pid})"


class PeriodicRun(models.Model):
    """One run of a periodic task: slot is floor(time / period). Every worker tries to insert
    the current slot's row and enqueues the task only if its insert won, in the same
    transaction, so each slot is enqueued once however many workers and hosts run."""

    name = models.CharField(max_length=100)
    slot = models.BigIntegerField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-enqueued_at"]
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodicrun_name_slot_unique")]
        indexes = [
            # The purge of old runs: WHERE enqueued_at < ?
            models.Index(fields=["enqueued_at"], name="periodicrun_enqueued_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.slot}"
