"""The overview (`/`) at N numbers on PostgreSQL: its figures from the trigger-kept tables
beside the same figures counted over the rows, and the whole page, in one process (no HTTP).

For each N of --sizes: a fresh database (`kalem_bench_overview` on 127.0.0.1:5432) with one
account of N numbers in a realistic mix (a tenth without an agent, a tenth manual without a
trunk) and N events spread over the last 30 days; then the median of --runs timings of each.

    .venv/bin/python bench/overview.py --sizes 100000,1000000 --runs 15
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "kalem_bench_overview"


def median_ms(function, runs: int) -> float:
    function()  # warm: plans cached, pages in memory
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def seed(n: int) -> None:
    from django.db import connection

    from agents_app.models import TextAgent, VoiceAgent
    from kalem_site.accounts.models import Account, User
    from numbers_app.models import SipTrunk

    account = Account.objects.create(name="Overview bench")
    User.objects.create_user(username="bench", password="bench-password-123", account=account)
    voice = [VoiceAgent.objects.create(account=account, name=f"Voice {i}").pk for i in range(1, 21)]
    text = [TextAgent.objects.create(account=account, name=f"Text {i}").pk for i in range(1, 6)]
    trunks = [
        SipTrunk.objects.create(
            account=account, name=f"Trunk {i}", direction="inbound", auth_type="ip", host="10.0.0.1"
        ).pk
        for i in range(1, 6)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO numbers_app_phonenumber
                (account_id, number, provider, status, voice_agent_id, text_agent_id, trunk_id, created_at, updated_at)
            SELECT %s, '+1' || (2000000000 + i)::text,
                   CASE WHEN i %% 3 = 0 THEN 'twilio' ELSE 'manual' END,
                   CASE WHEN i %% 17 = 0 THEN 'inactive' ELSE 'active' END,
                   CASE WHEN i %% 10 = 1 THEN NULL ELSE (%s::bigint[])[1 + i %% 20] END,
                   CASE WHEN i %% 4 = 0 THEN (%s::bigint[])[1 + i %% 5] END,
                   CASE WHEN i %% 10 = 2 THEN NULL ELSE (%s::bigint[])[1 + i %% 5] END,
                   now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [account.pk, voice, text, trunks, n],
        )
        cursor.execute(
            """
            INSERT INTO numbers_app_numberevent
                (account_id, number_id, number, action, field, actor_type, actor_name, channel, occurred_at)
            SELECT %s, i, '+1' || (2000000000 + i)::text, 'created', '', 'system', 'bench', 'command',
                   now() - (i %% 30) * interval '1 day' - (i %% 1000) * interval '1 second'
            FROM generate_series(1, %s) AS i
            """,
            [account.pk, n],
        )
        cursor.execute("VACUUM ANALYZE")


def measure(n: int, runs: int) -> dict:
    from datetime import timedelta

    from django.db.models import Count, Q
    from django.db.models.functions import TruncDate
    from django.test import Client
    from django.utils import timezone

    from kalem_site.accounts.models import Account, User
    from numbers_app.health import changes_per_day, recent_activity, routing_health
    from numbers_app.models import NumberEvent, PhoneNumber

    account = Account.objects.get(name="Overview bench")
    numbers = PhoneNumber.objects.for_account(account)
    active = Q(status="active")
    no_agent = Q(voice_agent__isnull=True, text_agent__isnull=True)
    no_trunk = Q(provider="manual", trunk__isnull=True)

    def counted_health():  # the same figures counted over the numbers: what the tally saves
        return numbers.aggregate(
            active=Count("id", filter=active),
            inactive=Count("id", filter=~active),
            no_agent=Count("id", filter=active & no_agent),
            no_trunk=Count("id", filter=active & no_trunk),
            not_routable=Count("id", filter=active & (no_agent | no_trunk)),
        )

    def counted_days():
        first = timezone.now() - timedelta(days=30)
        return list(
            NumberEvent.objects.filter(account=account, occurred_at__gte=first)
            .annotate(day=TruncDate("occurred_at"))
            .values("day")
            .annotate(n=Count("id"))
        )

    health = routing_health(account=account)
    assert health.total == n, (health.total, n)
    assert counted_health()["not_routable"] == health.not_routable.count
    client = Client()
    client.force_login(User.objects.get(username="bench"))
    assert client.get("/").status_code == 200
    return {
        "health (tally)": median_ms(lambda: routing_health(account=account), runs),
        "health counted over the numbers": median_ms(counted_health, runs),
        "changes per day (NumberEventDay)": median_ms(lambda: changes_per_day(account=account), runs),
        "changes per day counted over the events": median_ms(counted_days, runs),
        "recent activity": median_ms(lambda: recent_activity(account=account), runs),
        "the page, GET / (in process)": median_ms(lambda: client.get("/"), runs),
        # The floor of any dashboard page on this machine at this moment: a page that reads
        # nothing of the numbers (the account's API tokens: none here).
        "reference: GET /settings/tokens/": median_ms(lambda: client.get("/settings/tokens/"), runs),
        "_not_routable": health.not_routable.count,
        "_page_queries": page_queries(client),
    }


def page_queries(client) -> str:
    """Each query of one GET / with its time (ms), slowest first: where the page's time goes."""
    from django.db import connection, reset_queries

    reset_queries()
    client.get("/")
    timed = sorted(((float(q["time"]) * 1000, q["sql"][:90]) for q in connection.queries), reverse=True)
    return " || ".join(f"{ms:.1f} {sql}" for ms, sql in timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.environ["DJANGO_SETTINGS_MODULE"] = "kalem_site.settings"
        sys.path.insert(0, str(PROJECT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        n = int(args.child)
        seed(n)
        for name, value in measure(n, args.runs).items():
            print(f"{name}\t{value:.2f}" if isinstance(value, float) else f"{name}\t{value}")
        return
    results = {}
    for n in (int(size) for size in args.sizes.split(",")):
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
        env = {
            **os.environ,
            "DATABASE_URL": f"{SERVER}/{DATABASE}",
            # DEBUG for the static files' plain storage (no collectstatic manifest needed).
            "DEBUG": "1",
            "DB_STATEMENT_TIMEOUT": "600",  # the seeding statements
            "ALLOWED_HOSTS": "testserver",
        }
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--runs", str(args.runs)],
            env=env,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            sys.exit(f"N={n}: the measuring process failed:\n{out.stderr[-3000:]}")
        out = out.stdout
        results[n] = dict(line.split("\t") for line in out.strip().splitlines())
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    sizes = list(results)
    print(f"| ms, median of {args.runs} | " + " | ".join(f"{n:,}" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for name in results[sizes[0]]:
        if not name.startswith("_"):
            print(f"| {name} | " + " | ".join(results[n][name] for n in sizes) + " |")
    print("not routable:", ", ".join(f"{n:,}: {int(results[n]['_not_routable']):,}" for n in sizes))
    for n in sizes:
        print(f"GET / at {n:,}, its queries (ms):", results[n]["_page_queries"])


if __name__ == "__main__":
    main()
