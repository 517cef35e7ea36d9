"""`make bench-webhooks`: webhook delivery throughput and latency, and what the outbox costs
the change that writes it. PostgreSQL on 127.0.0.1:5432 (BENCH_POSTGRES), a fresh database.

1. The bulk change: `number_bulk_update` of 10,000 numbers (a voice agent assigned, one
   transaction, 10,000 audit events), timed without any endpoint and with one subscribed
   endpoint (then its 10,000 messages go into the outbox in the same transaction), alternating runs.
2. Throughput: with 1 and then 2 queue workers (`manage.py worker`) already running (idle), one
   bulk change of 10,000 numbers commits; messages/s from its commit to the last receipt by
   one local receiver (a ThreadingHTTPServer verifying every signature with
   `standardwebhooks`), and the p50/p99 from the commit to each receipt.
3. Latency on an idle queue: single-number changes one at a time (one worker running), the
   p50/p99 from each change's commit to its receipt.

    .venv/bin/python bench/webhooks.py [--numbers 10000] [--runs 3]
"""

import argparse
import datetime
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
PYTHON = sys.executable
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench_webhooks"
# The queue's worker, as the Procfile runs it (its idle poll: 0.5 s).
WORKER = [PYTHON, "manage.py", "worker"]


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--singles", type=int, default=50)
    parser.add_argument("--report", default=str(PROJECT / "docs" / "PERFORMANCE-webhooks.md"))
    args = parser.parse_args()

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "WEBHOOK_ALLOW_INSECURE": "1",
        "CREDENTIALS_KEY": "",
        "LOG_LEVEL": "WARNING",
        # One statement updates 10,000 numbers (the API takes at most 1,000 a request).
        "DB_STATEMENT_TIMEOUT": "60",
    }
    from cryptography.fernet import Fernet

    env["CREDENTIALS_KEY"] = Fernet.generate_key().decode()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=PROJECT, env=env, check=True)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kalem_site.settings"
    import django

    django.setup()
    try:
        results = measure(args, env)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    write_report(Path(args.report), args, results)


def measure(args, env: dict) -> dict:
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from agents_app.models import VoiceAgent
    from kalem_site.accounts.models import Account
    from kalem_site.actors import Actor
    from kalem_site.db import insert_many
    from numbers_app import services as number_services
    from numbers_app.models import NumberEvent, PhoneNumber
    from tests.webhooks_app.receiver import Receiver
    from webhooks_app import services
    from webhooks_app.models import NumberSnapshot, WebhookAttempt, WebhookMessage, WebhookOutbox

    actor = Actor.for_command("bench")
    account = Account.objects.create(name="Bench")
    agents = [VoiceAgent.objects.create(account=account, name=name) for name in ("A", "B")]
    now = timezone.now()
    insert_many(
        PhoneNumber,
        [
            {
                "account_id": account.pk,
                "number": f"+1415{3000000 + i:07d}",
                "provider": "manual",
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(args.numbers)
        ],
    )
    ids = list(PhoneNumber.objects.filter(account=account).values_list("pk", flat=True))
    flip = iter(range(10**6))

    def bulk_change() -> tuple[float, float]:
        """(seconds, commit time) of one bulk assignment of every number."""
        agent = agents[next(flip) % 2]
        started = time.perf_counter()
        with transaction.atomic():
            number_services.number_bulk_update(actor=actor, account=account, ids=ids, voice_agent=agent)
        return time.perf_counter() - started, time.time()

    def clear() -> None:
        WebhookAttempt.objects.all().delete()
        WebhookMessage.objects.all().delete()
        WebhookOutbox.objects.all().delete()
        NumberSnapshot.objects.all().delete()
        NumberEvent.objects.all().delete()
        DBTaskResult.objects.all().delete()

    results: dict = {"load": " ".join(f"{value:.2f}" for value in os.getloadavg())}
    bulk_change()  # warm up
    with Receiver() as receiver:
        endpoint, secret = services.endpoint_create(account=account, url=receiver.url)
        receiver.secrets.append(secret)
        # 1. The bulk change, without and with an endpoint (alternating).
        without, with_one = [], []
        for _ in range(args.runs):
            services.endpoint_update(endpoint=endpoint, enabled=False)
            without.append(bulk_change()[0])
            clear()
            services.endpoint_update(endpoint=endpoint, enabled=True)
            with_one.append(bulk_change()[0])
            assert sum(len(ids) for ids in WebhookOutbox.objects.values_list("event_ids", flat=True)) == args.numbers
            clear()
        results["bulk"] = (statistics.median(without), statistics.median(with_one))
        results["bulk_runs"] = (without, with_one)
        print(
            f"bulk change of {args.numbers:,}: {results['bulk'][0]:.2f} s without, {results['bulk'][1]:.2f} s with one endpoint",
            flush=True,
        )

        # 2. Throughput with 1 and 2 workers.
        results["throughput"] = {}
        for count in (1, 2):
            receiver.received.clear()
            workers = [subprocess.Popen(WORKER, cwd=PROJECT, env=env) for _ in range(count)]
            try:
                time.sleep(3)  # started and polling
                _, committed = bulk_change()
                deadline = time.time() + 600
                while len({r.message_id for r in receiver.received}) < args.numbers and time.time() < deadline:
                    time.sleep(0.1)
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait()
            first = {}
            for r in receiver.received:
                first.setdefault(r.message_id, r.received_at)
            latencies = [at - committed for at in first.values()]
            assert len(first) == args.numbers, f"{len(first)} of {args.numbers} delivered"
            # Requests that failed verification (none expected; a request cut off by an
            # overloaded receiver would be one): reported, and their messages retried.
            results.setdefault("unverified", {})[count] = [r.errors for r in receiver.unverified]
            receiver.unverified.clear()
            rate = args.numbers / max(latencies)
            results["throughput"][count] = (rate, percentile(latencies, 0.5), percentile(latencies, 0.99))
            print(
                f"{count} worker(s): {rate:.0f} msg/s, p50 {results['throughput'][count][1]:.2f} s, p99 {results['throughput'][count][2]:.2f} s",
                flush=True,
            )
            clear()

        # 3. Latency on an idle queue.
        receiver.received.clear()
        worker = subprocess.Popen(WORKER, cwd=PROJECT, env=env)
        latencies = []
        try:
            time.sleep(3)
            number = PhoneNumber.objects.get(pk=ids[0])
            for i in range(args.singles):
                number_services.number_set_status(actor=actor, number=number, active=i % 2 == 1)
                committed = time.time()
                deadline = time.time() + 30
                while len(receiver.received) < i + 1 and time.time() < deadline:
                    time.sleep(0.005)
                latencies.append(receiver.received[i].received_at - committed)
                time.sleep(0.05)
        finally:
            worker.terminate()
            worker.wait()
        results["idle"] = (percentile(latencies, 0.5), percentile(latencies, 0.99))
        print(f"idle queue: p50 {results['idle'][0]:.3f} s, p99 {results['idle'][1]:.3f} s", flush=True)
    return results


def write_report(path: Path, args, results: dict) -> None:
    postgres = subprocess.run(
        ["psql", f"{SERVER}/postgres", "-Atc", "select version()"], capture_output=True, text=True
    ).stdout.split(" on ")[0]
    without, with_one = results["bulk"]
    slower = (with_one / without - 1) * 100
    lines = [
        "# Performance of webhooks",
        "",
        f"Measured by `make bench-webhooks` on {datetime.date.today()}: {os.cpu_count()} cores (load average "
        f"{results['load']} when it started), {postgres}, Python {platform.python_version()}. One local receiver (ThreadingHTTPServer, "
        "verifying every signature with `standardwebhooks`), the queue's worker processes (`manage.py worker`, "
        "as the Procfile runs them).",
        "",
        f"## The bulk change ({args.numbers:,} numbers assigned a voice agent, one transaction; median of {args.runs})",
        "",
        "| | seconds |",
        "| --- | ---: |",
        f"| no endpoint | {without:.2f} |",
        f"| one subscribed endpoint ({args.numbers:,} messages in the transaction's outbox) | {with_one:.2f} |",
        f"| slower by | {slower:.0f} % (goal ≤ 20 %) |",
        "",
        "Every run, in the order taken (seconds): without "
        + ", ".join(f"{value:.2f}" for value in results["bulk_runs"][0])
        + "; with "
        + ", ".join(f"{value:.2f}" for value in results["bulk_runs"][1])
        + ".",
        "",
        "What the endpoint adds to the transaction, per batch of 1,000 events: their ids reserved in "
        "one statement (`nextval` over `generate_series`, the sequence named once), one `INSERT … SELECT` in which the database "
        "copies the changed numbers' state (the snapshot the bodies show), and one outbox row per "
        "endpoint listing the events. A worker then makes each outbox row into its messages (one "
        "`INSERT … SELECT`, the `webhook-id`s made by the database) and builds each body when it "
        "first claims the message. Runs vary with what else the machine "
        "does: the median of alternating runs is the figure.",
        "",
        f"## Delivery of the {args.numbers:,} messages of one bulk change",
        "",
        "From the change's commit to each message's receipt:",
        "",
        "| workers | messages/s | p50 | p99 |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for count, (rate, p50, p99) in results["throughput"].items():
        lines.append(f"| {count} | {rate:,.0f} | {p50:.2f} s | {p99:.2f} s |")
    unverified = {count: errors for count, errors in results.get("unverified", {}).items() if errors}
    for count, errors in unverified.items():
        lines.append(f"\n{count} worker(s): {len(errors)} request(s) failed verification ({errors[0]}); retried.")
    lines += [
        "",
        "Goal: one worker ≥ 100 messages/s. A burst's p50/p99 is mostly its place in the queue.",
        "",
        f"## Latency on an idle queue ({args.singles} single changes, one worker)",
        "",
        "| p50 | p99 |",
        "| ---: | ---: |",
        f"| {results['idle'][0]:.3f} s | {results['idle'][1]:.3f} s |",
        "",
        "Goal: p50 ≤ 1 s. An idle queue worker looks for tasks every 0.5 s (`--interval`).",
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
