"""Tasks for the queue's fault tests (tests/live/test_worker_faults.py), run by real worker
processes: they leave their traces in a file, outside the database."""

import os
import time

from django_tasks import task


@task()
def note(n: int, seconds: float = 0.0) -> int:
    """Append "n pid start end" to $TASK_NOTES, taking `seconds`."""
    started = time.time()
    time.sleep(seconds)
    with open(os.environ["TASK_NOTES"], "a") as notes:
        notes.write(f"{n} {os.getpid()} {started} {time.time()}\n")
    return n


@task()
def explode() -> None:
    raise ZeroDivisionError("a task that raises")
