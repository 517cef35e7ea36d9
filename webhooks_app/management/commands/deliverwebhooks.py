"""`manage.py deliverwebhooks`: deliver due webhook messages, forever (or once with --once).

Looks for due messages every 0.2 s (new messages, and retries as they fall due), and prunes
the delivery log older than 30 days once a minute. Several can run at once: each claims its
own messages."""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from webhooks_app.services import deliver_due_messages, prune_delivery_log

POLL_SECONDS = 0.2
PRUNE_EVERY_SECONDS = 60


class Command(BaseCommand):
    help = "Deliver due webhook messages (every 0.2 s, until stopped; --once: until none is due)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due, then exit.")
        parser.add_argument("--batch", type=int, default=50, help="Messages claimed at a time (default 50).")

    def handle(self, *args, once: bool, batch: int, **options):
        pruned_at = 0.0
        while True:
            # A long-running process: connections are checked and renewed as a request's are
            # (not one inside a transaction, such as a test's).
            if not connection.in_atomic_block:
                close_old_connections()
            claimed = deliver_due_messages(limit=batch)
            if claimed:
                continue
            if once:
                return
            if time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                prune_delivery_log()
                pruned_at = time.monotonic()
            time.sleep(POLL_SECONDS)
