"""`manage.py worker`: one worker process taking tasks from the database queue. Run as many
as needed, on any number of hosts (see README, "Background work")."""

import logging

from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import valid_interval, valid_max_tasks, validate_worker_id

from kalem_site.tasks.workers import Worker


class Command(BaseCommand):
    help = "Run a background worker: takes tasks from the queue, runs the periodic tasks, survives database outages."

    def add_arguments(self, parser):
        # Half a second: a webhook is sent within about that of its change when the queue is idle
        # (one indexed query per poll per worker).
        parser.add_argument("--interval", type=valid_interval, default=0.5, help="Seconds between polls when idle.")
        parser.add_argument("--batch", action="store_true", help="Run the waiting tasks, then exit.")
        parser.add_argument("--max-tasks", type=valid_max_tasks, default=None, help="Exit after this many tasks.")
        parser.add_argument("--worker-id", type=validate_worker_id, default=None, help="Unique id (default: random).")
        parser.add_argument("--no-periodic", action="store_true", help="Do not enqueue the periodic tasks.")

    def handle(self, *, interval, batch, max_tasks, worker_id, no_periodic, verbosity, **options):
        if verbosity > 1:
            logging.getLogger("kalem_site.tasks").setLevel(logging.DEBUG)
        worker = Worker(
            queue_names=["*"],
            excluded_queue_names=[],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=max_tasks,
            worker_id=worker_id or get_random_string(32),
            periodic=not no_periodic,
        )
        worker.configure_signals()
        worker.run()
