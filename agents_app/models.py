"""Voice and text agents: the AI agents that numbers are assigned to.

Both kinds have the same shape, so they share an abstract base; each is its own table
because a number has one slot for each kind.
"""

from django.db import models

from kalem_site.accounts.models import Account


class AgentQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "AgentQuerySet":
        return self.filter(account=account)

    def with_numbers_count(self) -> "AgentQuerySet":
        return self.annotate(numbers_count=models.Count("numbers"))


class Agent(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AgentQuerySet.as_manager()

    # Human-readable names of the kind, for messages ("Voice agent 3 does not exist.").
    kind_label = "agent"
    kind_title = "Agent"

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class VoiceAgent(Agent):
    kind_label = "voice agent"
    kind_title = "Voice agent"

    class Meta(Agent.Meta):
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="voiceagent_name_unique_per_account"),
            models.CheckConstraint(condition=~models.Q(name=""), name="voiceagent_name_not_empty"),
        ]


class TextAgent(Agent):
    kind_label = "text agent"
    kind_title = "Text agent"

    class Meta(Agent.Meta):
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="textagent_name_unique_per_account"),
            models.CheckConstraint(condition=~models.Q(name=""), name="textagent_name_not_empty"),
        ]
