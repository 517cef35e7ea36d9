"""The overview, the dashboard's home page: will calls work? The figures come from
numbers_app.health; this module links them to the lists and draws the chart of changes."""

from datetime import date
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse

from kalem_site.web import account_required

from ..health import changes_per_day, recent_activity, routing_health

# The chart's drawing area, in SVG user units (the SVG scales to the width of its card).
CHART_WIDTH, CHART_HEIGHT, CHART_GAP = 600, 120, 2


def _list_url(filters: dict | None) -> str | None:
    return f"{reverse('numbers:list')}?{urlencode(filters)}" if filters is not None else None


def _linked(count) -> dict:
    return {"label": count.label, "count": count.count, "url": _list_url(count.filters)}


def chart_bars(per_day: list[tuple[date, int]]) -> list[dict]:
    """A bar per day, left to right, heights relative to the busiest day (a day with changes
    gets at least a sliver, so it never looks like none), each linked to its Activity."""
    if not per_day:
        return []
    busiest = max(count for _, count in per_day) or 1
    width = CHART_WIDTH / len(per_day)
    activity = reverse("activity")
    bars = []
    for index, (day, count) in enumerate(per_day):
        height = round(CHART_HEIGHT * count / busiest, 1) if count else 0
        if count and height < 2:
            height = 2
        bars.append(
            {
                "day": day,
                "count": count,
                "x": round(index * width + CHART_GAP / 2, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(width - CHART_GAP, 1),
                "height": height,
                "url": f"{activity}?{urlencode({'since': day.isoformat(), 'until': day.isoformat()})}",
            }
        )
    return bars


@account_required
def overview(request):
    account = request.user.account
    health = routing_health(account=account)
    per_day = changes_per_day(account=account)
    events, existing = recent_activity(account=account)
    first_day, last_day = per_day[0][0], per_day[-1][0]
    return render(
        request,
        "numbers_app/overview.html",
        {
            "health": health,
            "by_status": [_linked(count) for count in health.by_status],
            "not_routable": _linked(health.not_routable),
            "reasons": [_linked(count) for count in health.reasons],
            "all_url": reverse("numbers:list"),
            "bars": chart_bars(per_day),
            "chart": {"width": CHART_WIDTH, "height": CHART_HEIGHT, "first_day": first_day, "last_day": last_day},
            "changes_total": sum(count for _, count in per_day),
            "busiest": max(per_day, key=lambda item: item[1]),
            "chart_activity_url": f"{reverse('activity')}?{urlencode({'since': first_day.isoformat()})}",
            "events": events,
            "existing_numbers": existing,
        },
    )
