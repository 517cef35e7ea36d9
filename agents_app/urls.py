from django.urls import include, path

from . import views
from .models import TextAgent, VoiceAgent


def agent_urls(model, namespace: str):
    patterns = [
        path("", views.agent_list, {"model": model}, name="list"),
        path("add/", views.agent_form, {"model": model}, name="add"),
        path("<int:pk>/", views.agent_form, {"model": model}, name="edit"),
        path("<int:pk>/delete/", views.agent_delete, {"model": model}, name="delete"),
    ]
    return include((patterns, namespace))


urlpatterns = [
    path("voice-agents/", agent_urls(VoiceAgent, "voice_agents")),
    path("text-agents/", agent_urls(TextAgent, "text_agents")),
]
