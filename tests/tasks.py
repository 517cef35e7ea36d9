"""Running the queue's tasks inside a test: a worker of our own, in this process, that runs
every waiting task (and those they enqueue) and stops when the queue is empty."""

from kalem_site.tasks.workers import Worker


def run_tasks(*, periodic: bool = False) -> int:
    """Run the waiting tasks as a worker would. Returns how many ran."""
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
    worker.run()
    return worker._run_tasks
