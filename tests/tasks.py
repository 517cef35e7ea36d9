"""Running the queue's tasks inside a test: a worker of our own, in this process, that runs
every waiting task (and those they enqueue) and stops when the queue is empty."""

import threading
from contextlib import contextmanager
from unittest import mock

from django.db import connections

from kalem_site.tasks.workers import Worker


def run_tasks(*, periodic: bool = False) -> int:
    """Run the waiting tasks as a worker would. Returns how many ran. The connection is the
    test's own, inside its transaction: the worker's close_old_connections() would close it
    (Django's test client disconnects that handler from its requests for the same reason)."""
    worker = Worker(
        queue_names=["*"],
        excluded_queue_names=[],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        periodic=periodic,
        heartbeat=False,
    )
    with mock.patch("kalem_site.tasks.workers.close_old_connections"):
        worker.run()
    return worker._run_tasks


@contextmanager
def worker_thread():
    """A worker taking tasks in a thread of this process for the duration (beside a live
    server, for the browser tests)."""
    worker = Worker(
        queue_names=["*"],
        excluded_queue_names=[],
        interval=0.1,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-thread-worker",
        periodic=False,
    )
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.running = False
        thread.join(timeout=30)
        connections.close_all()
