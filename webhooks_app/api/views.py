import orjson
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http_status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from kalem_site.api.views import AccountScopedViewSet
from kalem_site.ids import id_in_range

from .. import selectors, services
from ..filters import DeliveryFilter
from ..models import EVENT_TYPES, WebhookEndpoint, WebhookMessage
from .serializers import (
    AcceptedSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)

_DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="The delivery's id.")


def _showing_secret(response: Response, endpoint: WebhookEndpoint) -> Response:
    """A response with a secret in it: never cached, and what an Idempotency-Key replay gets
    is the same answer without the secret (stored as `replay_content`), so the plain secret is
    kept nowhere."""
    response["Cache-Control"] = "no-store"
    response.replay_content = orjson.dumps(WebhookSerializer(endpoint).data)
    return response


class WebhookViewSet(AccountScopedViewSet):
    """Webhook endpoints of the account: every event of its numbers is pushed to them, signed
    (Standard Webhooks), retried and logged (see docs/API.md, Webhooks)."""

    queryset = WebhookEndpoint.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("webhook endpoint", "webhook endpoints")
    serializer_class = WebhookSerializer
    filterset_class = None
    extra_query_params = {"deliveries": {"page", "per_page", *DeliveryFilter.base_filters}}
    schema_error_statuses = {"deliveries": {404}, "delivery": {404}}

    def query_params_taken(self) -> set[str]:
        taken = set(self.extra_query_params.get(self.action, ()))
        if self.action == "list":
            taken |= {"page", "per_page"}
        return taken

    def filter_queryset(self, queryset):
        return queryset

    def get_queryset(self):
        return WebhookEndpoint.objects.for_account(self.account).order_by("id")

    @extend_schema(responses={201: WebhookWithSecretSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(account=self.account, **serializer.validated_data)
        data = WebhookWithSecretSerializer(endpoint, context={"secret": secret}).data
        return _showing_secret(
            Response(data, status=http_status.HTTP_201_CREATED, headers=self.get_success_headers(data)), endpoint
        )

    def perform_update(self, serializer):
        serializer.instance = services.endpoint_update(endpoint=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.endpoint_delete(endpoint=instance)

    @extend_schema(
        summary="Rotate a webhook endpoint's secret",
        description=(
            "A new secret, returned only here. For 24 hours the previous secret signs every message too "
            "(two signatures in `webhook-signature`), so receivers can switch without dropping messages."
        ),
        request=None,
        responses=WebhookWithSecretSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        secret = services.endpoint_rotate_secret(endpoint=endpoint)
        return _showing_secret(
            Response(WebhookWithSecretSerializer(endpoint, context={"secret": secret}).data), endpoint
        )

    @extend_schema(
        summary="Send a test message to a webhook endpoint",
        description="Queues one `webhook.test` message to the endpoint; a disabled endpoint is a 422.",
        request=None,
        responses={202: AcceptedSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        message = services.endpoint_send_test(endpoint=self.get_object())
        return Response({"message_id": message.message_id, "status": message.status}, status=202)

    @extend_schema(
        summary="List a webhook endpoint's deliveries",
        description=(
            "The messages to the endpoint, newest first, with where each delivery stands; `status` "
            "(pending, delivered, failed) and `event_type` narrow it. Kept 30 days."
        ),
        parameters=[
            OpenApiParameter(
                "status", str, enum=WebhookMessage.Status.values, description="pending, delivered or failed."
            ),
            OpenApiParameter("event_type", str, enum=EVENT_TYPES, description="e.g. number.assigned"),
        ],
        responses=DeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        filterset = DeliveryFilter(request.query_params, queryset=selectors.deliveries(endpoint=endpoint))
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginator.paginate_queryset(filterset.qs, request, view=self)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    def _delivery(self, pk, delivery_id) -> WebhookMessage:
        endpoint = self.get_object()
        message_pk = id_in_range(delivery_id)
        if message_pk is None:
            raise NotFound()
        try:
            return selectors.deliveries(endpoint=endpoint).get(pk=message_pk)
        except WebhookMessage.DoesNotExist:
            raise NotFound() from None

    @extend_schema(
        summary="Get a webhook delivery",
        description="The delivery with every attempt: when, the status code, how long, the error, the response's first 1 KiB.",
        parameters=[_DELIVERY_ID],
        responses=DeliveryDetailSerializer,
    )
    @action(detail=True, methods=["get"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)", url_name="delivery")
    def delivery(self, request, pk=None, delivery_id=None):
        message = self._delivery(pk, delivery_id)
        attempts = list(selectors.delivery_attempts(message=message))
        return Response(DeliveryDetailSerializer(message, context={"attempts": attempts}).data)

    @extend_schema(
        summary="Resend a webhook delivery",
        description=(
            "A new attempt series for the same message (same `webhook-id`), starting now; a disabled endpoint is a 422."
        ),
        parameters=[_DELIVERY_ID],
        request=None,
        responses={202: AcceptedSerializer},
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/resend", url_name="resend")
    def resend(self, request, pk=None, delivery_id=None):
        message = services.message_resend(message=self._delivery(pk, delivery_id))
        return Response({"message_id": message.message_id, "status": message.status}, status=202)
