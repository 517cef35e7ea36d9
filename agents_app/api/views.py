from kalem_site.api.views import AccountScopedViewSet

from .. import services
from ..filters import AgentFilter
from ..models import Agent, TextAgent, VoiceAgent
from .serializers import AgentSerializer


class AgentViewSet(AccountScopedViewSet):
    model: type[Agent]
    serializer_class = AgentSerializer
    filterset_class = AgentFilter

    def get_queryset(self):
        return self.model.objects.for_account(self.account).with_numbers_count().order_by("id")

    def perform_create(self, serializer):
        serializer.instance = services.agent_create(model=self.model, account=self.account, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.agent_update(
            actor=self.actor, agent=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.agent_delete(actor=self.actor, agent=instance)


class VoiceAgentViewSet(AgentViewSet):
    """Voice agents of the account. `numbers_count` counts the numbers assigned to each."""

    model = VoiceAgent
    queryset = VoiceAgent.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("voice agent", "voice agents")


class TextAgentViewSet(AgentViewSet):
    """Text agents of the account. `numbers_count` counts the numbers assigned to each."""

    model = TextAgent
    queryset = TextAgent.objects.none()  # the model, for the schema; get_queryset() scopes
    object_names = ("text agent", "text agents")
