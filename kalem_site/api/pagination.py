"""The pagination envelope of every list: `data`, `links` and `meta`, as kalem.me (Laravel)
returns them."""

import math
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from kalem_site.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, page_rows, positive_int


def _page_param(request, name: str, default: int) -> int:
    """The parameter's value; anything but a positive integer is a 422 naming it."""
    try:
        return positive_int(request.query_params.get(name), default=default)
    except ValueError:
        raise ValidationError({name: [f"The {name} must be a positive integer."]}) from None


class PageNumberPagination(pagination.BasePagination):
    def paginate_queryset(
        self, queryset, request, view=None, total: int | None = None, values=None, rows: Callable | None = None
    ):
        """One page of `queryset`. `total` may be given when the view knows it more cheaply
        than COUNT(*) (the numbers list reads it from NumberTally); `values`, column lookups
        to read the page's rows as dicts instead of model instances; `rows(offset, size,
        backwards)`, a faster read of the same rows than slicing `queryset` (a compiled query,
        numbers_app.hot_reads)."""
        self.request = request
        errors = {}
        try:
            self.page = _page_param(request, "page", default=1)
        except ValidationError as error:
            errors.update(error.detail)
        try:
            per_page = _page_param(request, "per_page", default=DEFAULT_PER_PAGE)
        except ValidationError as error:
            errors.update(error.detail)
        if errors:
            raise ValidationError(errors)
        self.per_page = min(per_page, MAX_PER_PAGE)
        self.total = queryset.count() if total is None else total
        self.last_page = max(1, math.ceil(self.total / self.per_page))
        if self.page > self.last_page:
            return []  # past the end: an empty page, without asking the database
        offset = (self.page - 1) * self.per_page
        size = min(self.per_page, self.total - offset)
        return page_rows(queryset, offset=offset, size=size, total=self.total, values=values, read=rows)

    def _page_link(self, page: int | None) -> str | None:
        """The request's own URL with only `page` changed (appended when it was absent)."""
        if page is None:
            return None
        params, replaced = [], False
        for key, value in parse_qsl(self.request.META.get("QUERY_STRING", ""), keep_blank_values=True):
            if key == "page":
                if replaced:
                    continue
                value, replaced = str(page), True
            params.append((key, value))
        if not replaced:
            params.append(("page", str(page)))
        return f"{self.request.build_absolute_uri(self.request.path)}?{urlencode(params)}"

    def get_paginated_response(self, data) -> Response:
        count = len(data)
        first_index = (self.page - 1) * self.per_page + 1
        return Response(
            {
                "data": data,
                "links": {
                    "first": self._page_link(1),
                    "last": self._page_link(self.last_page),
                    "prev": self._page_link(self.page - 1 if self.page > 1 else None),
                    "next": self._page_link(self.page + 1 if self.page < self.last_page else None),
                },
                "meta": {
                    "current_page": self.page,
                    "from": first_index if count else None,
                    "last_page": self.last_page,
                    "path": self.request.build_absolute_uri(self.request.path),
                    "per_page": self.per_page,
                    "to": first_index + count - 1 if count else None,
                    "total": self.total,
                },
            }
        )

    # OpenAPI (drf-spectacular reads these two).

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1. A page past the end is an empty page.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "per_page",
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {DEFAULT_PER_PAGE}); more than {MAX_PER_PAGE} is served as {MAX_PER_PAGE}.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "format": "uri"}
        nullable_link = {**link, "nullable": True}
        nullable_int = {"type": "integer", "nullable": True}
        return {
            "type": "object",
            "required": ["data", "links", "meta"],
            "properties": {
                "data": schema,
                "links": {
                    "type": "object",
                    "required": ["first", "last", "prev", "next"],
                    "properties": {"first": link, "last": link, "prev": nullable_link, "next": nullable_link},
                },
                "meta": {
                    "type": "object",
                    "required": ["current_page", "from", "last_page", "path", "per_page", "to", "total"],
                    "properties": {
                        "current_page": {"type": "integer", "minimum": 1},
                        "from": nullable_int,
                        "last_page": {"type": "integer", "minimum": 1},
                        "path": link,
                        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                        "to": nullable_int,
                        "total": {"type": "integer", "minimum": 0},
                    },
                },
            },
        }
