"""The numbers list's totals and sidebar counts at scale (PostgreSQL), issue 14 and issue 15
item 4: numbers_app.tally as it is, next to the way it counted before (one grouped query per
filter: over the combinations without a search, over every matching number with one), and
the dashboard's /numbers/ server time (one request at a time, in process, signed in).

Seeds with bench/run.py's seeding (one account of N numbers, three of N/10 as noise) into its
own database, `kalem_bench_tally`, dropped and created again for each N. Bounded: --repeat
requests per row (the median is reported), 127.0.0.1 only.

    .venv/bin/python bench/facets.py --sizes 100000,1000000 --repeat 15
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench import run  # noqa: E402  (its seeding, reused)

DATABASE = "kalem_bench_tally"


def legacy_facet_counts(*, account, params):
    """The sidebar's counts as tally.py computed them before (main at 91835b7), routable
    added the same way: one grouped query per filter."""
    from django.db.models import BooleanField, Count, ExpressionWrapper, Sum

    from numbers_app.filters import NumberFilter
    from numbers_app.models import PhoneNumber
    from numbers_app.tally import FACETS, TALLY_ROUTABLE, number_tally_for

    valid = NumberFilter(params, queryset=PhoneNumber.objects.none()).valid_values()
    counts = {}
    for facet in FACETS:
        others = {name: value for name, value in valid.items() if name != facet}
        tally = number_tally_for(account=account, filters=others)
        if tally is not None:
            if facet == "routable":
                tally = tally.annotate(routable=ExpressionWrapper(TALLY_ROUTABLE, output_field=BooleanField()))
            counts[facet] = dict(tally.order_by().values_list(facet).annotate(n=Sum("count")))
        else:
            query = {name: value for name, value in params.items() if name != facet}
            numbers = NumberFilter(query, queryset=PhoneNumber.objects.for_account(account)).qs
            counts[facet] = dict(numbers.order_by().values_list(facet).annotate(n=Count("id")))
    return counts


def median_ms(action, repeat: int) -> float:
    action()  # warm: plans cached, pages in shared buffers
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


CASES = [
    ("no filter", {}),
    ("status=active", {"status": "active"}),
    ("status=active&routable=false", {"status": "active", "routable": "false"}),
    ("three filters", {"status": "active", "provider": "manual", "text_agent_id": "none"}),
    ("search=1", {"search": "1"}),
    ("search=555", {"search": "555"}),
    ("search=5550142", {"search": "5550142"}),
]


def measure(size: int, repeat: int) -> list[tuple]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from numbers_app.filters import NumberFilter
    from numbers_app.models import NumberFacetCount, NumberTally, PhoneNumber
    from numbers_app.tally import number_facet_counts, number_total

    connection.close()
    user = get_user_model().objects.select_related("account").get(username=run.OPERATOR[0])
    account = user.account
    client = Client()
    client.force_login(user)
    combinations = NumberTally.objects.filter(account=account).count()
    facet_rows = NumberFacetCount.objects.filter(account=account).count()
    print(f"N={size:,}: {combinations:,} combination rows, {facet_rows} facet rows", flush=True)
    rows = []
    for name, params in CASES:
        filters = NumberFilter(params, queryset=PhoneNumber.objects.for_account(account)).valid_values()
        numbers = NumberFilter(params, queryset=PhoneNumber.objects.for_account(account)).qs
        new = median_ms(lambda params=params: number_facet_counts(account=account, params=params), repeat)
        old = median_ms(lambda params=params: legacy_facet_counts(account=account, params=params), repeat)
        total = median_ms(
            lambda filters=filters, numbers=numbers: number_total(account=account, filters=filters, numbers=numbers),
            repeat,
        )
        query = "&".join(f"{key}={value}" for key, value in params.items())
        page = median_ms(lambda query=query: client.get(f"/numbers/?{query}"), repeat)
        exact = number_facet_counts(account=account, params=params).exact
        rows.append((size, name, old, new, total, page, exact))
        print(
            f"  {name:32} facets before {old:8.1f} ms  now {new:7.1f} ms  total {total:7.1f} ms  "
            f"page {page:7.1f} ms  {'exact' if exact else 'at least'}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    env = run.server_env(DATABASE)
    env["ALLOWED_HOSTS"] = "testserver"
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kalem_site.settings")
    import django

    django.setup()
    from django.db import connection

    results = []
    for size in [int(size) for size in args.sizes.split(",")]:
        connection.close()
        run.reset_database(DATABASE)
        started = time.perf_counter()
        run.seed(env, size, database=DATABASE)
        print(f"seeded {size:,} in {time.perf_counter() - started:.0f} s", flush=True)
        results += measure(size, args.repeat)
    connection.close()
    run.reset_database(DATABASE)  # leave nothing behind
    print("\n| N | list | facets before (5–6 queries) | facets now (1 query) | total | /numbers/ page | counts |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for size, name, old, new, total, page, exact in results:
        print(
            f"| {size:,} | `{name}` | {old:.1f} ms | {new:.1f} ms | {total:.1f} ms | {page:.1f} ms | "
            f"{'exact' if exact else 'at least (sample)'} |"
        )


if __name__ == "__main__":
    main()
