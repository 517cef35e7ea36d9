"""numbers_app.health: the overview's figures. Its routing counts agree with the lookup's
verdict on every number, come from the tally in one query, and its changes per day from
NumberEventDay, which triggers keep equal to the events whatever writes them."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from kalem_site.accounts.models import Account
from numbers_app import services
from numbers_app.health import changes_per_day, recent_activity, routing_health
from numbers_app.imports import number_import, read_rows
from numbers_app.models import NumberEvent, NumberEventDay, PhoneNumber
from numbers_app.selectors import NO_AGENT_REASON, NO_TRUNK_REASON, number_routing
from tests.audit import TEST_ACTOR


@pytest.fixture
def every_combination(account, other_account, make_number, make_voice_agent, make_text_agent, make_trunk):
    """One number of each status × provider × voice agent or not × text agent or not × trunk
    or not (32), and a few of another account that must never count."""
    voice, text, trunk = make_voice_agent(account), make_text_agent(account), make_trunk(account)
    for status, provider, has_voice, has_text, has_trunk in itertools.product(
        PhoneNumber.Status.values, PhoneNumber.Provider.values, *[(False, True)] * 3
    ):
        make_number(
            account,
            status=status,
            provider=provider,
            voice_agent=voice if has_voice else None,
            text_agent=text if has_text else None,
            trunk=trunk if has_trunk else None,
        )
    for _ in range(3):
        make_number(other_account)  # active, manual, nothing assigned: not routable
    return PhoneNumber.objects.for_account(account)


def lookup_verdicts(numbers) -> list[tuple[bool, list[str]]]:
    return [number_routing(number) for number in numbers if number.status == PhoneNumber.Status.ACTIVE]


def test_the_not_routable_counts_are_the_lookups_verdict_on_every_active_number(every_combination, account):
    verdicts = lookup_verdicts(every_combination)

    health = routing_health(account=account)

    assert health.total == 32
    assert [(status.label, status.count) for status in health.by_status] == [("Active", 16), ("Inactive", 16)]
    assert health.active == 16
    assert health.not_routable.count == sum(not routable for routable, _ in verdicts) == 7
    assert health.routable == 9
    by_reason = {reason.label: reason.count for reason in health.reasons}
    assert by_reason == {
        NO_AGENT_REASON: sum(NO_AGENT_REASON in reasons for _, reasons in verdicts),
        NO_TRUNK_REASON: sum(NO_TRUNK_REASON in reasons for _, reasons in verdicts),
    }
    assert by_reason == {NO_AGENT_REASON: 4, NO_TRUNK_REASON: 4}  # one number has both


def test_each_count_links_to_the_list_filters_that_show_its_numbers(account):
    health = routing_health(account=account)

    assert health.not_routable.filters == {"status": "active", "routable": "false"}
    assert [status.filters for status in health.by_status] == [{"status": "active"}, {"status": "inactive"}]
    assert [reason.filters for reason in health.reasons] == [
        {"status": "active", "voice_agent_id": "none", "text_agent_id": "none"},
        {"status": "active", "provider": "manual", "trunk_id": "none"},
    ]


def test_the_counts_follow_changes_made_through_the_services(account, make_voice_agent, make_trunk):
    agent, trunk = make_voice_agent(account), make_trunk(account)
    bare = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550100")
    services.number_create(actor=TEST_ACTOR, account=account, number="+14155550101", provider="twilio")
    assert routing_health(account=account).not_routable.count == 2

    services.number_update(actor=TEST_ACTOR, number=bare, voice_agent=agent, trunk=trunk)
    health = routing_health(account=account)
    assert (health.not_routable.count, [r.count for r in health.reasons]) == (1, [1, 0])

    services.number_set_status(actor=TEST_ACTOR, number=bare, active=False)
    health = routing_health(account=account)
    assert (health.active, health.not_routable.count) == (1, 1)


def test_an_account_without_numbers_has_all_zero(account):
    health = routing_health(account=account)

    assert (health.total, health.active, health.not_routable.count, health.routable) == (0, 0, 0, 0)
    assert [reason.count for reason in health.reasons] == [0, 0]


@pytest.mark.parametrize("size", [3, 60])
def test_the_counts_are_one_query_however_many_numbers(
    account, make_number, make_voice_agent, size, django_assert_num_queries
):
    agents = [make_voice_agent(account) for _ in range(5)]
    for i in range(size):
        make_number(account, voice_agent=agents[i % 5] if i % 3 else None, provider=["manual", "twilio"][i % 2])

    with django_assert_num_queries(1):
        health = routing_health(account=account)

    assert health.total == size


# Changes per day (NumberEventDay)


def event(account: Account, at: datetime, number: str = "+14155550100") -> NumberEvent:
    return NumberEvent(
        account=account,
        number_id=1,
        number=number,
        action="created",
        actor_type="system",
        actor_name="tests",
        channel="command",
        occurred_at=at,
    )


def per_day_actual() -> dict:
    rows = (
        NumberEvent.objects.annotate(day=TruncDate("occurred_at"))
        .values_list("account_id", "day")
        .annotate(n=Count("id"))
    )
    return {(account_id, day): n for account_id, day, n in rows}


def per_day_kept() -> dict:
    """NumberEventDay's counts, each day's shards summed; days of no event left out."""
    rows = NumberEventDay.objects.order_by().values_list("account_id", "day").annotate(n=Sum("count"))
    return {(account_id, day): n for account_id, day, n in rows if n}


def test_the_days_count_the_events_the_services_write(account, other_account, make_voice_agent):
    agent = make_voice_agent(account)
    number = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550100")
    services.number_update(actor=TEST_ACTOR, number=number, voice_agent=agent, status="inactive")
    services.number_create(actor=TEST_ACTOR, account=other_account, number="+14155550199")
    services.number_delete(actor=TEST_ACTOR, number=number)

    assert per_day_kept() == per_day_actual()
    today = NumberEvent.objects.first().occurred_at.date()
    assert per_day_kept() == {(account.id, today): 4, (other_account.id, today): 1}


def test_the_days_count_an_imports_events(account):
    csv = "number,provider,voice_agent,text_agent,trunk,status\n" + "".join(
        f"+1415555{i:04d},manual,,,,\n" for i in range(250)
    )
    _, rows = read_rows(csv)
    for _ in number_import(actor=TEST_ACTOR, account=account, rows=rows):
        pass

    assert NumberEvent.objects.filter(account=account).count() == 250
    assert per_day_kept() == per_day_actual()


def test_the_days_split_at_midnight_utc_and_follow_deletes(account):
    late = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    NumberEvent.objects.bulk_create(
        [event(account, late), event(account, late), event(account, late + timedelta(microseconds=1))]
    )
    assert per_day_kept() == {(account.id, date(2026, 11, 30)): 2, (account.id, date(2026, 12, 1)): 1}

    NumberEvent.objects.filter(occurred_at=late).first().delete()
    NumberEvent.objects.filter(occurred_at__gt=late).delete()

    assert per_day_kept() == per_day_actual() == {(account.id, date(2026, 11, 30)): 1}


def test_deleting_the_account_deletes_its_days(account, other_account):
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    NumberEvent.objects.bulk_create([event(account, now), event(other_account, now)])

    account.delete()

    assert per_day_kept() == {(other_account.id, date(2026, 11, 30)): 1}


def test_changes_per_day_are_the_last_30_days_oldest_first_with_empty_days(account, other_account):
    today = date(2026, 12, 1)
    noon = datetime(2026, 12, 1, 12, tzinfo=UTC)
    NumberEvent.objects.bulk_create(
        [
            event(account, noon),
            event(account, noon),
            event(account, noon - timedelta(days=29)),  # the first day shown
            event(account, noon - timedelta(days=30)),  # a day too early
            event(account, noon + timedelta(days=1)),  # "tomorrow": clocks disagree; not shown
            event(other_account, noon),
        ]
    )

    per_day = changes_per_day(account=account, today=today)

    assert len(per_day) == 30
    assert per_day[0] == (date(2026, 11, 2), 1)
    assert per_day[-1] == (today, 2)
    assert sum(count for _, count in per_day) == 3
    assert [day for day, _ in per_day] == [date(2026, 11, 2) + timedelta(days=i) for i in range(30)]


def test_changes_per_day_is_one_query(account, django_assert_num_queries):
    NumberEvent.objects.bulk_create([event(account, datetime(2026, 12, 1, tzinfo=UTC)) for _ in range(40)])

    with django_assert_num_queries(1):
        per_day = changes_per_day(account=account, today=date(2026, 12, 1))

    assert per_day[-1] == (date(2026, 12, 1), 40)


def test_recent_activity_is_the_latest_changes_and_which_numbers_still_exist(account, other_account):
    kept = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550100")
    gone = services.number_create(actor=TEST_ACTOR, account=account, number="+14155550101")
    services.number_delete(actor=TEST_ACTOR, number=gone)
    services.number_create(actor=TEST_ACTOR, account=other_account, number="+14155550102")

    events, existing = recent_activity(account=account, limit=2)

    assert [(e.number, e.action) for e in events] == [("+14155550101", "deleted"), ("+14155550101", "created")]
    assert existing == set()
    events, existing = recent_activity(account=account)
    assert [e.number for e in events] == ["+14155550101", "+14155550101", "+14155550100"]
    assert existing == {kept.pk}
