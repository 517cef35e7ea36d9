"""An account's routing health, for the dashboard's overview (its home page): will calls
work? Numbers by status, the active numbers that are not routable and why (the lookup's
verdict, numbers_app.selectors.number_routing), the latest changes, and changes per day.

Every figure is read from a table kept by triggers, not counted over the numbers or the
events: the counts from NumberTally in one query, the days from NumberEventDay in one, so
the overview costs the same at 1,000 numbers as at 1,000,000.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from kalem_site.accounts.models import Account

from .filters import UNASSIGNED
from .models import NumberEvent, NumberEventDay, NumberTally, PhoneNumber
from .selectors import NO_AGENT_REASON, NO_TRUNK_REASON
from .tally import TALLY_ROUTABLE

ACTIVE = PhoneNumber.Status.ACTIVE

# The lookup's two reasons on the tally's columns, where unassigned is 0 (an inactive number is
# not routable either, but it is off on purpose: the overview asks about the active ones).
TALLY_NO_AGENT = Q(voice_agent_id=0, text_agent_id=0)
TALLY_MANUAL_WITHOUT_TRUNK = Q(provider=PhoneNumber.Provider.MANUAL, trunk_id=0)

# The number list's filters that show the numbers of each reason: the counts link to them.
NO_AGENT_FILTERS = {"status": ACTIVE, "voice_agent_id": UNASSIGNED, "text_agent_id": UNASSIGNED}
MANUAL_WITHOUT_TRUNK_FILTERS = {"status": ACTIVE, "provider": PhoneNumber.Provider.MANUAL, "trunk_id": UNASSIGNED}
NOT_ROUTABLE_FILTERS = {"status": ACTIVE, "routable": "false"}

# How many days the chart of changes covers, today included.
CHART_DAYS = 30


@dataclass(frozen=True)
class Count:
    """A figure of the overview and the list filters that show its numbers (None: no link)."""

    label: str
    count: int
    filters: dict[str, str] | None


@dataclass(frozen=True)
class RoutingHealth:
    total: int
    by_status: list[Count]
    active: int
    # Active numbers the lookup would call not routable; a number can have both reasons, so
    # the reasons may add up to more.
    not_routable: Count
    reasons: list[Count]

    @property
    def routable(self) -> int:
        return self.active - self.not_routable.count


def routing_health(*, account: Account) -> RoutingHealth:
    """The account's numbers by status and its active numbers that are not routable, total and
    by reason: one query, summing the account's tally rows."""
    active = Q(status=ACTIVE)
    sums = {f"status_{value}": Sum("count", filter=Q(status=value), default=0) for value in PhoneNumber.Status.values}
    sums["no_agent"] = Sum("count", filter=active & TALLY_NO_AGENT, default=0)
    sums["manual_without_trunk"] = Sum("count", filter=active & TALLY_MANUAL_WITHOUT_TRUNK, default=0)
    # The list's `routable` rule itself, so the count is what its link lists.
    sums["not_routable"] = Sum("count", filter=active & ~TALLY_ROUTABLE, default=0)
    counts = NumberTally.objects.filter(account=account).aggregate(**sums)
    by_status = [
        Count(label, counts[f"status_{value}"], {"status": value}) for value, label in PhoneNumber.Status.choices
    ]
    return RoutingHealth(
        total=sum(status.count for status in by_status),
        by_status=by_status,
        active=counts[f"status_{ACTIVE}"],
        not_routable=Count("Not routable", counts["not_routable"], NOT_ROUTABLE_FILTERS),
        reasons=[
            Count(NO_AGENT_REASON, counts["no_agent"], NO_AGENT_FILTERS),
            Count(NO_TRUNK_REASON, counts["manual_without_trunk"], MANUAL_WITHOUT_TRUNK_FILTERS),
        ],
    )


def changes_per_day(*, account: Account, days: int = CHART_DAYS, today: date | None = None) -> list[tuple[date, int]]:
    """The account's changes (audit events) on each of the last `days` days (UTC), oldest
    first, days without any included as 0: one query, summing NumberEventDay's shards."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    shards = NumberEventDay.objects.filter(account=account, day__gte=first, day__lte=today)
    counted = dict(shards.order_by().values("day").annotate(n=Sum("count")).values_list("day", "n"))
    return [(day, counted.get(day, 0)) for day in (first + timedelta(days=offset) for offset in range(days))]


def recent_activity(*, account: Account, limit: int = 10) -> tuple[list[NumberEvent], set[int]]:
    """The account's latest `limit` changes, newest first, and which of their numbers still
    exist (to link only to those): two queries."""
    events = list(NumberEvent.objects.for_account(account).newest_first()[:limit])
    number_ids = {event.number_id for event in events}
    existing = set(PhoneNumber.objects.for_account(account).filter(pk__in=number_ids).values_list("pk", flat=True))
    return events, existing
