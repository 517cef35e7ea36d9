"""List-page plumbing shared by the dashboard views: paging and the filter sidebar."""

from urllib.parse import urlencode

from kalem_site.paging import per_page_or_default

from ..filters import UNASSIGNED


def requested_per_page(request) -> int:
    return per_page_or_default(request.GET.get("per_page"))


def _query_without(params, param: str) -> str:
    """The list's query string without one filter, back on page 1."""
    params = params.copy()
    params.pop("page", None)
    params.pop(param, None)
    return params.urlencode()


def _and(others: str, param: str, value: str | None) -> str:
    # What QueryDict.urlencode() appends for a value set after the others.
    if value is None:
        return ""
    return ("&" if others else "") + urlencode({param: value})


def facet(params, param: str, counts: dict, options, unassigned: bool = False) -> dict:
    """One filter of the sidebar: its choices with their counts and links, the selected one
    marked."""
    selected = params.get(param, "")
    choices = []
    if unassigned:
        choices.append({"value": UNASSIGNED, "label": "Unassigned", "count": counts.get(None, 0)})
    for value, label in options:
        choices.append({"value": str(value), "label": label, "count": counts.get(value, 0)})
    # The other filters' part of the links, encoded once for all the choices.
    others = _query_without(params, param)
    for choice in choices:
        choice["selected"] = choice["value"] == selected
        choice["query"] = others + _and(others, param, choice["value"])
    return {"param": param, "choices": choices, "selected": selected, "clear_query": others}


# How many agents or trunks a facet of the sidebar lists before "Show all": the ones with the
# most numbers (and the selected one), so the sidebar stays short with hundreds of them.
FACET_SHORT_LENGTH = 8
# The query parameter that lists every choice of a facet (`?show_all=trunk_id`; repeatable).
SHOW_ALL = "show_all"


def shorten_facet(params, facet: dict, limit: int = FACET_SHORT_LENGTH) -> dict:
    """The facet with at most `limit` of its named choices (the busiest, ties in the list's
    order) plus "Unassigned" and the selected one, in the list's order, and a link to show
    them all; a facet shown in full (SHOW_ALL) gets a link back to the short one. Plain links:
    no JavaScript needed."""
    param = facet["param"]
    named = [choice for choice in facet["choices"] if choice["value"] != UNASSIGNED]
    facet = {**facet, "more_query": None, "less_query": None, "total_choices": len(named)}
    if len(named) <= limit:
        return facet
    shown_all = param in params.getlist(SHOW_ALL)
    if shown_all:
        query = params.copy()
        query.setlist(SHOW_ALL, [value for value in params.getlist(SHOW_ALL) if value != param])
        facet["less_query"] = query.urlencode()
        return facet
    busiest = sorted(range(len(named)), key=lambda index: (-named[index]["count"], index))[:limit]
    keep = {id(named[index]) for index in busiest}
    facet["choices"] = [
        choice
        for choice in facet["choices"]
        if choice["value"] == UNASSIGNED or choice["selected"] or id(choice) in keep
    ]
    query = params.copy()
    query.appendlist(SHOW_ALL, param)
    facet["more_query"] = query.urlencode()
    facet["hidden_choices"] = len(named) - sum(choice["value"] != UNASSIGNED for choice in facet["choices"])
    return facet
