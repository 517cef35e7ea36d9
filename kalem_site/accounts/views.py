"""Account settings pages: the account's settings and its API tokens; the sign-in lockout page."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kalem_site.web import account_required, apply_service_errors, get_for_account_or_404

from .countries import country_name
from .forms import AccountSettingsForm, TokenCreateForm
from .models import ApiToken
from .services import account_update_settings, token_create, token_expiry_in_days, token_revoke

# The ids of the create forms that already made their token, per session (the last few).
_USED_SUBMISSIONS = "token_form_used_submissions"


@account_required
def account_settings(request):
    """The account's settings: its default country, in which national numbers typed in the
    dashboard are read."""
    account = request.user.account
    form = AccountSettingsForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        try:
            account_update_settings(account=account, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Settings saved: numbers without a country code are read as numbers of {country_name(account.default_country)}.",
            )
            return redirect("account_settings")
    return render(request, "accounts/account_settings.html", {"form": form, "account": account})


@account_required
def token_list(request):
    """List the tokens; creating one shows its plaintext on this response only (it is not
    stored anywhere, so a reload cannot show it again).

    Each rendering of the create form carries a one-off `submission` id. A browser that sends
    the same form again (reloading the page that shows the token, going back to it) gets the
    list instead of a second token."""
    form = TokenCreateForm(request.POST or None)
    issued = None
    submission = request.POST.get("submission", "")
    used = request.session.get(_USED_SUBMISSIONS, [])
    if request.method == "POST" and submission and submission in used:
        messages.info(request, "That form was already sent and its token created; it is not shown again.")
        return redirect("tokens:list")
    if request.method == "POST" and form.is_valid():
        issued = token_create(
            account=request.user.account,
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            expires_at=token_expiry_in_days(form.cleaned_data["expires_in_days"]),
            created_by=request.user,
        )
        if submission:
            request.session[_USED_SUBMISSIONS] = [*used, submission][-20:]
        messages.success(request, f"Token {issued.token.name} created. Copy it now: it is shown only once.")
        form = TokenCreateForm()
    tokens = ApiToken.objects.for_account(request.user.account_id).select_related("created_by")
    return render(
        request,
        "accounts/token_list.html",
        {"form": form, "tokens": tokens, "issued": issued, "submission": secrets.token_urlsafe(16)},
    )


@require_POST
@account_required
def token_revoke_view(request, pk: int):
    token = get_for_account_or_404(ApiToken, request, pk)
    token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("tokens:list")


def locked_out(request, original_response=None, credentials=None):
    """The answer to a sign-in while its username or address is locked out: a 429 page that
    says why and for how long, with Retry-After."""
    response = render(
        request,
        "registration/locked_out.html",
        {"failure_limit": settings.LOGIN_FAILURE_LIMIT, "cooloff_minutes": settings.LOGIN_COOLOFF_MINUTES},
        status=429,
    )
    response["Retry-After"] = str(settings.LOGIN_COOLOFF_MINUTES * 60)
    return response
