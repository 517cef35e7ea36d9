from functools import partial

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from kalem_site.accounts.models import ApiToken
from kalem_site.api.views import AccountScopedGenericViewSet, AccountScopedViewSet
from kalem_site.downloads import csv_download
from kalem_site.ids import id_in_range

from .. import services
from ..bulk_jobs import number_bulk_by_filter
from ..filters import EventFilter, NumberFilter, TrunkFilter
from ..hot_reads import (
    number_page_rows,
    number_row,
    number_row_by_number,
    number_row_by_number_with_token,
    number_row_with_token,
)
from ..models import BulkJob, NumberEvent, PhoneNumber, SipTrunk
from ..selectors import number_csv_rows
from ..shapes import EVENT_COLUMNS, NUMBER_COLUMNS
from ..tally import narrows, number_total
from . import schema  # noqa: F401 (imported for its effect: the filters' schema annotations)
from .serializers import (
    BulkJobSerializer,
    EventSerializer,
    NumberBulkResultSerializer,
    NumberBulkSerializer,
    NumberLookupSerializer,
    NumberRoutingSerializer,
    NumberSerializer,
    TrunkSerializer,
)

_NOT_READ = object()


class NumberViewSet(AccountScopedViewSet):
    """Phone numbers (DIDs) of the account, each optionally assigned to one voice agent, one
    text agent and one SIP trunk."""

    queryset = PhoneNumber.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("number", "numbers")
    # Besides the errors every operation of its kind can answer with (kalem_site.api.schema).
    schema_error_statuses = {"lookup": {404}, "bulk_job": {404}}
    extra_query_params = {
        "lookup": {"number"},
        "export_csv": set(NumberFilter.base_filters),
        "events": {"page", "per_page"},
    }
    serializer_class = NumberSerializer
    filterset_class = NumberFilter

    # The get's or the lookup's row once read_with_token() has read it: a dict, or None for no
    # such number in the token's account; _NOT_READ until then (the action reads it itself).
    row_read_with_token: dict | None | object = _NOT_READ

    def get_queryset(self):
        return PhoneNumber.objects.for_account(self.account).with_assignments().order_by("id")

    def read_with_token(self, digest: str) -> ApiToken | None:
        # The get and the lookup, the API's most frequent requests, read their row and the
        # token in one query. An id or a number that is not valid is left to the action.
        if self.action == "retrieve":
            number_id = id_in_range(self.kwargs[self.lookup_field])
            if number_id is None:
                return None
            found = number_row_with_token(digest=digest, number_id=number_id)
        elif self.action == "lookup":
            number = NumberLookupSerializer.valid_number(self._lookup_query().get("number"))
            if number is None:
                return None
            found = number_row_by_number_with_token(digest=digest, number=number)
        else:
            return None
        if found is None:
            # No such token, or no such number in its account: the token is read alone
            # next, and if it is usable the action answers 404 without another query.
            self.row_read_with_token = None
            return None
        self.row_read_with_token, token = found
        return token

    def _filtered(self, request) -> tuple:
        """The account's numbers narrowed by the list's filters, and the filters' values; an
        invalid value is a 422. No FilterSet is built for a request without filters."""
        numbers = PhoneNumber.objects.for_account(self.account)
        if not NumberFilter.base_filters.keys() & request.query_params.keys():
            return numbers, {}
        filterset = NumberFilter(request.query_params, queryset=numbers)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs, filterset.form.cleaned_data

    def list(self, request, *args, **kwargs):
        numbers, filters = self._filtered(request)
        numbers = numbers.order_by("id")
        total = number_total(account=self.account, filters=filters, numbers=numbers)
        # Rows as dicts of exactly the Number object's columns: no model instances. Without
        # filters, the page is read by a compiled query (the same SQL).
        page = self.paginator.paginate_queryset(
            numbers,
            request,
            view=self,
            total=total,
            values=NUMBER_COLUMNS,
            rows=partial(number_page_rows, self.account.id) if not narrows(filters) else None,
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        # One compiled query; the update (PUT) still reads the instance, through get_object().
        row = self.row_read_with_token
        if row is _NOT_READ:
            number_id = id_in_range(kwargs[self.lookup_field])
            row = None if number_id is None else number_row(account_id=self.account.id, number_id=number_id)
        if row is None:
            raise NotFound()
        return Response(self.get_serializer(row).data)

    def perform_create(self, serializer):
        serializer.instance = services.number_create(
            actor=self.actor, account=self.account, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.number_update(
            actor=self.actor, number=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.number_delete(actor=self.actor, number=instance)

    def _set_status(self, request, *, active: bool) -> Response:
        lookup = NumberLookupSerializer(data=request.data)
        lookup.is_valid(raise_exception=True)
        number = get_object_or_404(self.get_queryset(), number=lookup.validated_data["number"])
        number = services.number_set_status(actor=self.actor, number=number, active=active)
        return Response(self.get_serializer(number).data)

    @extend_schema(
        summary="Activate a number",
        description="Looks the number up in the account (normalised to E.164 first). Activating an active number changes nothing.",
        request=NumberLookupSerializer,
        responses=NumberSerializer,
    )
    @action(detail=False, methods=["post"])
    def activate(self, request):
        return self._set_status(request, active=True)

    @extend_schema(
        summary="Deactivate a number",
        description="Looks the number up in the account (normalised to E.164 first). Deactivating an inactive number changes nothing.",
        request=NumberLookupSerializer,
        responses=NumberSerializer,
    )
    @action(detail=False, methods=["post"])
    def deactivate(self, request):
        return self._set_status(request, active=False)

    @extend_schema(
        summary="Export numbers as CSV",
        description=(
            "The numbers of the list's filters as CSV, streamed: `number,provider,voice_agent,text_agent,trunk,status` "
            "(agents and trunks by name, empty when unassigned), ordered by id."
        ),
        responses={(200, "text/csv"): OpenApiTypes.STR},
        filters=True,  # the list's filters, which this action takes too (extra_query_params)
    )
    @action(detail=False, methods=["get"], url_path="export.csv", url_name="export-csv")
    def export_csv(self, request):
        numbers, _ = self._filtered(request)
        return csv_download(number_csv_rows(numbers), "numbers.csv")

    @extend_schema(
        summary="Act on many numbers at once",
        description=(
            "One action (`activate`, `deactivate`, `assign`, `delete`) on numbers of the account, given as "
            "`numbers` (up to 1,000, any common formatting), as `ids` (up to 1,000), or as `filter` (the list's "
            "filters: every number of the account matching them). Given by numbers or ids, or by a filter that "
            "matches at most 1,000 numbers, the action runs in one transaction and the answer is 200 with a "
            "result per item: `ok`, `not_found`, or `error` with a message; the items that are `ok` are changed, "
            "the others are left alone. A filter matching more than 1,000 numbers is answered 202 with a bulk job, "
            "whose `Location` to poll (`GET /api/v1/numbers/bulk/{job_id}`) tells its progress and outcome. "
            "`assign` takes `voice_agent_id`, `text_agent_id` and/or `trunk_id` (null unassigns)."
        ),
        request=NumberBulkSerializer,
        responses={200: NumberBulkResultSerializer, 202: BulkJobSerializer},
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        bulk = NumberBulkSerializer(data=request.data, context=self.get_serializer_context())
        bulk.is_valid(raise_exception=True)
        data, action = bulk.validated_data, bulk.validated_data["action"]
        assignments = {field: data[field] for field in services.ASSIGNMENT_FIELDS if field in data}
        if "filter" in data:
            outcome = number_bulk_by_filter(
                actor=self.actor, account=self.account, action=action, filters=data["filter"], assignments=assignments
            )
            if isinstance(outcome, BulkJob):
                location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{outcome.pk}")
                return Response(BulkJobSerializer(outcome).data, status=202, headers={"Location": location})
        else:
            outcome = services.number_bulk_apply(
                actor=self.actor,
                account=self.account,
                action=action,
                ids=data.get("ids"),
                numbers=data.get("numbers"),
                assignments=assignments,
            )
        return Response({"action": action, "results": outcome.results, "changed": outcome.changed})

    @extend_schema(
        summary="Follow a bulk job",
        description=(
            "A bulk action by filter that matched more than 1,000 numbers (answered 202 by "
            "`POST /api/v1/numbers/bulk`): its state (`queued`, `running`, `done`, `failed`), how many of the "
            "numbers are done, and how many were changed, unchanged (already so) or skipped (changed meanwhile so "
            "that they no longer match the filter, or deleted). Jobs are kept 7 days after they were created."
        ),
        parameters=[OpenApiParameter("job_id", int, OpenApiParameter.PATH, description="The job's id.")],
        responses=BulkJobSerializer,
    )
    @action(
        detail=False, methods=["get"], url_path=r"bulk/(?P<job_id>[0-9]+)", url_name="bulk-job", filterset_class=None
    )
    def bulk_job(self, request, job_id=None):
        pk = id_in_range(job_id)
        job = BulkJob.objects.filter(account=self.account, pk=pk).first() if pk else None
        if job is None:
            raise NotFound()
        return Response(BulkJobSerializer(job).data)

    def _lookup_query(self) -> dict:
        query = self.request.query_params.dict()
        if query.get("number", "")[:1] == " ":
            # `?number=+1555…` with the `+` not percent-encoded arrives as a space.
            query["number"] = "+" + query["number"][1:]
        return query

    @extend_schema(
        summary="Look up a number's routing",
        description=(
            "The Number object of a number of the account (any common formatting, normalised to E.164), "
            "plus `routable`: true only if it is active, has a voice or text agent, and, for manual "
            "(trunk-routed) numbers, a SIP trunk; `reasons` says what is missing."
        ),
        parameters=[
            OpenApiParameter("number", str, OpenApiParameter.QUERY, required=True, description="e.g. +1 (555) 123-4567")
        ],
        responses=NumberRoutingSerializer,
    )
    @action(detail=False, methods=["get"])
    def lookup(self, request):
        # One query on the unique index of `number`, whose row holds the verdict's inputs,
        # normally read with the token (read_with_token).
        row = self.row_read_with_token
        if row is _NOT_READ:
            lookup = NumberLookupSerializer(data=self._lookup_query())
            lookup.is_valid(raise_exception=True)
            row = number_row_by_number(account_id=self.account.id, number=lookup.validated_data["number"])
        if row is None:
            raise NotFound()
        return Response(NumberRoutingSerializer(row, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="List a number's events",
        description=(
            "The number's audit timeline, newest first: every change, who made it (`actor_type`, "
            "`actor_name`), through what (`channel`), the field, and its value before and after. "
            "Still readable after the number is deleted."
        ),
        responses=EventSerializer(many=True),
    )
    # No filterset_class: the timeline takes only page and per_page, not the list's filters.
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        number_id = id_in_range(pk)
        if number_id is None:
            raise NotFound()
        events = NumberEvent.objects.for_account(self.account).filter(number_id=number_id).newest_first()
        page = self.paginator.paginate_queryset(events, request, view=self, values=EVENT_COLUMNS)
        # No events: a number of the account created before the timeline existed has none,
        # any other id is not the account's.
        if not self.paginator.total and not PhoneNumber.objects.for_account(self.account).filter(pk=number_id).exists():
            raise NotFound()
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class EventViewSet(AccountScopedGenericViewSet):
    """The account's activity: every change to its numbers, newest first, deleted numbers
    included."""

    queryset = NumberEvent.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("event", "events")
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_queryset(self):
        return NumberEvent.objects.for_account(self.account).newest_first()

    @extend_schema(
        summary="List the account's events",
        description=(
            "Every change to the account's numbers, newest first. `number` (any common formatting) and "
            "`number_id` narrow it to one number, deleted or not; `since` and `until` (ISO 8601, inclusive; "
            "no offset means UTC) to a period; `action` and `channel` to a kind of change."
        ),
    )
    def list(self, request, *args, **kwargs):
        filterset = EventFilter(request.query_params, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginator.paginate_queryset(filterset.qs, request, view=self, values=EVENT_COLUMNS)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class TrunkViewSet(AccountScopedViewSet):
    """SIP trunks of the account. The password is write-only; `sip_uri` and `registered` are
    read-only."""

    queryset = SipTrunk.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("SIP trunk", "SIP trunks")
    serializer_class = TrunkSerializer
    filterset_class = TrunkFilter

    def get_queryset(self):
        return SipTrunk.objects.for_account(self.account).order_by("id")

    def perform_create(self, serializer):
        serializer.instance = services.trunk_create(account=self.account, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.trunk_update(
            actor=self.actor, trunk=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.trunk_delete(actor=self.actor, trunk=instance)
