"""Dashboard pages for voice and text agents: the same pages for both kinds, told apart by
the `model` the URLconf passes in."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse

from kalem_site.web import (
    account_required,
    apply_service_errors,
    confirm_delete,
    dashboard_actor,
    get_for_account_or_404,
)

from . import services
from .filters import AgentFilter
from .forms import AgentForm
from .models import Agent, VoiceAgent


def _context(model: type[Agent], **extra) -> dict:
    is_voice = model is VoiceAgent
    return {
        "kind_title": model.kind_title,
        "kind_plural": "Voice agents" if is_voice else "Text agents",
        "namespace": "voice_agents" if is_voice else "text_agents",
        # The numbers list's filter for this kind: PhoneNumber's foreign key to it, `_id`.
        "filter_param": f"{model.numbers.field.name}_id",
        **extra,
    }


@account_required
def agent_list(request, model: type[Agent]):
    filterset = AgentFilter(
        request.GET,
        queryset=model.objects.for_account(request.user.account_id).with_numbers_count().order_by("name", "id"),
    )
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    return render(request, "agents_app/agent_list.html", _context(model, page=page, filterset=filterset))


@account_required
def agent_form(request, model: type[Agent], pk: int | None = None):
    agent = get_for_account_or_404(model, request, pk) if pk else None
    form = AgentForm(request.POST or None, instance=agent)
    if request.method == "POST" and form.is_valid():
        try:
            if agent:
                services.agent_update(actor=dashboard_actor(request), agent=agent, **form.cleaned_data)
            else:
                agent = services.agent_create(model=model, account=request.user.account, **form.cleaned_data)
        except ValidationError as error:
            if agent:
                agent.refresh_from_db()  # the page shows the stored agent, the form what was sent
            apply_service_errors(form, error)
        except model.DoesNotExist:  # deleted while the form was being sent
            raise Http404 from None
        else:
            messages.success(request, f"{model.kind_title} {agent.name} saved.")
            return redirect(f"{_context(model)['namespace']}:list")
    return render(request, "agents_app/agent_form.html", _context(model, form=form, agent=agent))


@account_required
def agent_delete(request, model: type[Agent], pk: int):
    agent = get_for_account_or_404(model.objects.with_numbers_count(), request, pk)
    if request.method == "POST":
        unassigned = services.agent_delete(actor=dashboard_actor(request), agent=agent)
        messages.success(
            request, f"{model.kind_title} {agent.name} deleted; {unassigned} number{pluralize(unassigned)} unassigned."
        )
        return redirect(f"{_context(model)['namespace']}:list")
    count = agent.numbers_count
    return confirm_delete(
        request,
        title=f"Delete {agent.name}",
        question=f"Delete {model.kind_label} {agent.name}?",
        consequence=f"{count} number{pluralize(count)} will be unassigned from it. The numbers stay.",
        cancel_url=reverse(f"{_context(model)['namespace']}:list"),
    )
