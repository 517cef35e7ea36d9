"""Dashboard pages for webhooks (shared/WEBHOOKS.md §5): the endpoints and their health, add,
edit, delete, enable/disable, rotate the secret (shown once), send a test, and each
endpoint's delivery log with its attempts and a Resend button."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kalem_site.web import account_required, apply_service_errors, get_for_account_or_404

from . import selectors, services
from .filters import DeliveryFilter
from .forms import WebhookForm
from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage


@account_required
def webhook_list(request):
    endpoints = selectors.endpoints_with_health(account=request.user.account)
    return render(request, "webhooks_app/webhook_list.html", {"endpoints": endpoints})


def _secret_page(request, endpoint: WebhookEndpoint, secret: str, heading: str):
    # The secret is in this response only: never stored in plain text, never in a message.
    return render(
        request, "webhooks_app/webhook_secret.html", {"endpoint": endpoint, "secret": secret, "heading": heading}
    )


@account_required
def webhook_form(request, pk: int | None = None):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk) if pk else None
    initial = (
        {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "enabled": endpoint.enabled,
        }
        if endpoint
        else None
    )
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if endpoint:
                services.endpoint_update(endpoint=endpoint, **data)
            else:
                endpoint, secret = services.endpoint_create(account=request.user.account, **data)
                return _secret_page(request, endpoint, secret, "Webhook endpoint added")
        except ValidationError as error:
            apply_service_errors(form, error)
        except WebhookEndpoint.DoesNotExist:  # deleted while the form was being sent
            raise Http404 from None
        else:
            messages.success(request, f"Webhook endpoint {endpoint.url} saved.")
            return redirect("webhooks:detail", endpoint.pk)
    return render(request, "webhooks_app/webhook_form.html", {"form": form, "endpoint": endpoint})


@account_required
def webhook_delete(request, pk: int):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk)
    if request.method == "POST":
        services.endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Webhook endpoint {endpoint.url} deleted.")
        return redirect("webhooks:list")
    return render(request, "webhooks_app/webhook_confirm_delete.html", {"endpoint": endpoint})


@require_POST
@account_required
def webhook_set_enabled(request, pk: int, enabled: bool):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk)
    try:
        services.endpoint_update(endpoint=endpoint, enabled=enabled)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None
    messages.success(request, f"Webhook endpoint {endpoint.url} {'enabled' if enabled else 'disabled'}.")
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@account_required
def webhook_rotate(request, pk: int):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk)
    try:
        secret = services.endpoint_rotate_secret(endpoint=endpoint)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None
    return _secret_page(request, endpoint, secret, "New secret")


@require_POST
@account_required
def webhook_test(request, pk: int):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk)
    try:
        services.endpoint_send_test(endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "A webhook.test message is on its way.")
    return redirect("webhooks:detail", endpoint.pk)


@account_required
def webhook_detail(request, pk: int):
    endpoint = get_for_account_or_404(selectors.endpoints_with_health(account=request.user.account), request, pk)
    filterset = DeliveryFilter(request.GET, queryset=selectors.deliveries(endpoint=endpoint))
    deliveries = filterset.qs if filterset.is_valid() else selectors.deliveries(endpoint=endpoint)
    page = Paginator(deliveries, 25).get_page(request.GET.get("page"))
    attempts: dict[int, list[WebhookAttempt]] = {}
    for attempt in WebhookAttempt.objects.filter(message__in=list(page.object_list)).order_by("id"):
        attempts.setdefault(attempt.message_id, []).append(attempt)
    for message in page.object_list:
        message.attempt_rows = attempts.get(message.pk, [])
    return render(
        request,
        "webhooks_app/webhook_detail.html",
        {"endpoint": endpoint, "page": page, "filterset": filterset, "statuses": WebhookMessage.Status.choices},
    )


@require_POST
@account_required
def delivery_resend(request, pk: int, delivery_id: int):
    endpoint = get_for_account_or_404(WebhookEndpoint, request, pk)
    try:
        message = selectors.deliveries(endpoint=endpoint).get(pk=delivery_id)
    except WebhookMessage.DoesNotExist:
        raise Http404 from None
    try:
        services.message_resend(message=message)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except WebhookMessage.DoesNotExist:
        raise Http404 from None
    else:
        messages.success(request, f"Delivery {message.message_id} will be sent again.")
    return redirect("webhooks:detail", endpoint.pk)
