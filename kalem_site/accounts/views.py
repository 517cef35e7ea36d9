"""Account settings pages: the account's API tokens."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kalem_site.web import account_required, get_for_account_or_404

from .forms import TokenCreateForm
from .models import ApiToken
from .services import token_create, token_expiry_in_days, token_revoke


@account_required
def token_list(request):
    """List the tokens; creating one shows its plaintext on this response only (it is not
    stored anywhere, so a reload cannot show it again)."""
    form = TokenCreateForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = token_create(
            account=request.user.account,
            name=form.cleaned_data["name"],
            read_only=form.cleaned_data["read_only"],
            expires_at=token_expiry_in_days(form.cleaned_data["expires_in_days"]),
            created_by=request.user,
        )
        messages.success(request, f"Token {issued.token.name} created. Copy it now: it is shown only once.")
        form = TokenCreateForm()
    tokens = ApiToken.objects.for_account(request.user.account_id).select_related("created_by")
    return render(request, "accounts/token_list.html", {"form": form, "tokens": tokens, "issued": issued})


@require_POST
@account_required
def token_revoke_view(request, pk: int):
    token = get_for_account_or_404(ApiToken, request, pk)
    token_revoke(token=token)
    messages.success(request, f"Token {token.name} revoked.")
    return redirect("tokens:list")
