"""A bulk job by filter (issue 15.1) run by real `manage.py worker` processes: one SIGKILLed
half-way, the job taken up again by another, and every matching number changed exactly once
(one audit event each), the others not at all. A database of its own (SQLite, or PostgreSQL
when the suite runs on it)."""

import pytest

from .servers import manage, served_database, server_env
from .workers import FAST_CLOCKS, query, wait_until, workers

pytestmark = pytest.mark.django_db(transaction=True)

MATCHING = 12_000
OTHERS = 500


def one(database_url: str, sql: str, params: tuple = ()):
    return query(database_url, sql, params)[0][0]


def test_a_worker_killed_mid_job_leaves_it_to_another_and_every_number_changes_once(tmp_path):
    with served_database(tmp_path) as url:
        env = server_env(url, **FAST_CLOCKS)
        manage(env, "migrate", "--no-input", "-v0")
        manage(
            env,
            "shell",
            "-c",
            f"""
from agents_app.models import VoiceAgent
from kalem_site.accounts.models import Account
from kalem_site.actors import Actor, Channel
from numbers_app.bulk_jobs import number_bulk_by_filter
from numbers_app.models import PhoneNumber
account = Account.objects.create(name="Acme")
sales = VoiceAgent.objects.create(account=account, name="Sales")
PhoneNumber.objects.bulk_create(
    [PhoneNumber(account=account, number=f"+1415{{3000000 + i:07d}}") for i in range({MATCHING})]
    + [PhoneNumber(account=account, number=f"+1303{{3000000 + i:07d}}", status="inactive") for i in range({OTHERS})],
    batch_size=2000,
)
job = number_bulk_by_filter(
    actor=Actor.for_command("test", Channel.API), account=account, action="assign",
    filters={{"status": "active"}}, assignments={{"voice_agent": sales}},
)
print(job.pk, job.total)""",
        )

        def state():
            return query(url, "SELECT state, processed, changed, skipped, attempts, total FROM numbers_app_bulkjob")[0]

        assert state()[0] == "queued" and state()[5] == MATCHING
        with workers(env, tmp_path, 1, "a") as [first]:
            wait_until(lambda: state()[1] >= 2000, 120, "the job did not start", interval=0.01)
            first.kill()
        killed_state, done_at_kill, changed_at_kill, *_ = state()
        events = one(url, "SELECT COUNT(*) FROM numbers_app_numberevent WHERE field = 'voice_agent'")
        assigned = one(url, "SELECT COUNT(*) FROM numbers_app_phonenumber WHERE voice_agent_id IS NOT NULL")
        # Whole chunks only, and the progress says exactly what was written.
        assert killed_state == "running"
        assert 2000 <= done_at_kill < MATCHING and done_at_kill % 1000 == 0
        assert events == assigned == changed_at_kill == done_at_kill

        with workers(env, tmp_path, 1, "b") as [second]:
            wait_until(lambda: state()[4] == 1, 60, "the job was not taken up again")
            wait_until(lambda: state()[0] == "done", 180, "the resumed job did not finish")
            assert second.alive

        assert state() == ("done", MATCHING, MATCHING, 0, 1, MATCHING)
        per_number = query(
            url,
            "SELECT number_id, COUNT(*) FROM numbers_app_numberevent WHERE field = 'voice_agent' GROUP BY number_id",
        )
        assert len(per_number) == MATCHING and {count for _, count in per_number} == {1}
        assert one(url, "SELECT COUNT(*) FROM numbers_app_phonenumber WHERE voice_agent_id IS NOT NULL") == MATCHING
        assert (
            one(
                url, "SELECT COUNT(*) FROM numbers_app_phonenumber WHERE status = 'inactive' AND voice_agent_id IS NULL"
            )
            == OTHERS
        )
        assert one(url, "SELECT COUNT(*) FROM numbers_app_bulkjobnumber") == 0
