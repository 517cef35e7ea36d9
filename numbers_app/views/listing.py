"""List-page plumbing shared by the dashboard views: paging and the filter sidebar."""

from django.core.paginator import Paginator

from kalem_site.paging import per_page_or_default

from ..filters import UNASSIGNED


class CountedPaginator(Paginator):
    """A Paginator told its total (from NumberTally) instead of running COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._count = count

    @property
    def count(self) -> int:
        return self._count


def requested_per_page(request) -> int:
    return per_page_or_default(request.GET.get("per_page"))


def _query_with(params, param: str, value: str | None) -> str:
    """The list's query string with one filter set (or removed), back on page 1."""
    params = params.copy()
    params.pop("page", None)
    params.pop(param, None)
    if value is not None:
        params[param] = value
    return params.urlencode()


def facet(params, param: str, counts: dict, options, unassigned: bool = False) -> dict:
    """One filter of the sidebar: its choices with their counts and links, the selected one
    marked."""
    selected = params.get(param, "")
    choices = []
    if unassigned:
        choices.append({"value": UNASSIGNED, "label": "Unassigned", "count": counts.get(None, 0)})
    for value, label in options:
        choices.append({"value": str(value), "label": label, "count": counts.get(value, 0)})
    for choice in choices:
        choice["selected"] = choice["value"] == selected
        choice["query"] = _query_with(params, param, choice["value"])
    return {"param": param, "choices": choices, "selected": selected, "clear_query": _query_with(params, param, None)}
