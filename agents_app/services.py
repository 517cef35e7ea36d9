"""Writes to voice and text agents. Shared by the API, the dashboard, the admin and commands."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kalem_site.accounts.models import Account
from kalem_site.actors import Actor
from kalem_site.db import save_changed_fields
from numbers_app.services import numbers_record_rename, numbers_unassign

from .models import Agent


def _validate_agent(agent: Agent) -> None:
    agent.name = (agent.name or "").strip()
    # Account is set by the caller from the authenticated user or token; skipping it saves a
    # query per write.
    agent.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)


def _save_unique(agent: Agent, changed: list[str] | None = None) -> None:
    """Save a new agent, or the `changed` fields of an existing one, turning the per-account
    unique name rule (checked by the database, so that two concurrent writers cannot both
    win) into a field error."""
    duplicate = type(agent).objects.filter(account_id=agent.account_id, name=agent.name).exclude(pk=agent.pk)
    if duplicate.exists():
        raise ValidationError({"name": f"A {agent.kind_label} with this name already exists."})
    try:
        with transaction.atomic():
            if changed is None:
                agent.save()
            else:
                save_changed_fields(agent, changed)
    except IntegrityError:
        if duplicate.exists():
            raise ValidationError({"name": f"A {agent.kind_label} with this name already exists."}) from None
        raise


@transaction.atomic
def agent_create(*, model: type[Agent], account: Account, name: str, description: str = "") -> Agent:
    agent = model(account=account, name=name, description=description)
    _validate_agent(agent)
    _save_unique(agent)
    return agent


@transaction.atomic
def agent_update(*, actor: Actor, agent: Agent, **changes) -> Agent:
    """Change `name` and/or `description`; fields not given keep their value."""
    unknown = set(changes) - {"name", "description"}
    if unknown:
        raise TypeError(f"agent_update() got unexpected fields: {sorted(unknown)}")
    before = {field: getattr(agent, field) for field in changes}
    for field, value in changes.items():
        setattr(agent, field, value)
    _validate_agent(agent)
    if "name" in changes and agent.name != before["name"]:
        numbers_record_rename(actor=actor, assignee=agent)
    _save_unique(agent, changed=[field for field in changes if getattr(agent, field) != before[field]])
    return agent


@transaction.atomic
def agent_delete(*, actor: Actor, agent: Agent) -> int:
    """Delete the agent; its numbers stay, unassigned. Returns how many were unassigned."""
    unassigned = numbers_unassign(actor=actor, assignee=agent)
    agent.delete()
    return unassigned
