"""Small helpers shared by the dashboard views of every app."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from kalem_site.actors import Actor, Channel
from kalem_site.ids import id_in_range


def account_required(view: Callable) -> Callable:
    """Signed in, and a member of an account. Staff of no account (a superuser made with
    createsuperuser) have no dashboard: they are sent to the Django admin, told why."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        if user.account_id is None:
            if user.is_staff:
                messages.info(
                    request,
                    f"You are signed in as {user.get_username()}, which belongs to no account, so there is no "
                    "dashboard for it: the numbers of every account are managed here, in the admin. To use "
                    "the dashboard, sign in as an "
                    "operator of an account (manage.py createoperator).",
                )
                return redirect("admin:index")
            raise PermissionDenied("This user belongs to no account. Ask an administrator to add it to one.")
        return view(request, *args, **kwargs)

    return wrapper


def dashboard_actor(request: HttpRequest) -> Actor:
    """Who the audit timeline names for a dashboard change: the signed-in user."""
    return Actor.for_user(request.user, Channel.DASHBOARD)


def get_for_account_or_404(queryset: QuerySet | type[Model], request: HttpRequest, pk) -> Model:
    """The object with this id in the user's account; objects of other accounts are 404, just
    like objects that do not exist."""
    if isinstance(queryset, type):
        queryset = queryset.objects.all()
    pk = id_in_range(str(pk))
    if pk is None:
        raise Http404
    try:
        return queryset.get(account_id=request.user.account_id, pk=pk)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def safe_next_url(request: HttpRequest, default: str) -> str:
    """Where to go back to after a POST: the `next` field if it points into this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


def apply_service_errors(form: Form, error: ValidationError) -> None:
    """Show a service's ValidationError next to the form's fields (or above the form)."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)


def flash_count(request: HttpRequest, count: int, what: str) -> None:
    noun = "number" if count == 1 else "numbers"
    messages.success(request, f"{count:,} {noun} {what}.")


def confirm_delete(
    request: HttpRequest,
    *,
    title: str,
    question: str,
    cancel_url: str,
    consequence: str = "",
    items: list[str] | None = None,
    hidden: list[tuple[str, object]] | None = None,
    action: str = "",
    confirm: str = "Yes, delete it",
) -> HttpResponse:
    """The page that asks before deleting (a number, a trunk, an agent, a selection of
    numbers): the question, what follows from it, the items if several, and a form that posts
    `hidden` to `action` (this page when empty)."""
    return render(
        request,
        "confirm_delete.html",
        {
            "title": title,
            "question": question,
            "consequence": consequence,
            "items": items or [],
            "hidden": hidden or [],
            "action": action,
            "confirm": confirm,
            "cancel_url": cancel_url,
        },
    )
