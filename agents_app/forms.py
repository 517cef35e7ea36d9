from django import forms

from .models import VoiceAgent


class AgentForm(forms.ModelForm):
    """Name and description; uniqueness and the other rules are checked by the services."""

    class Meta:
        model = VoiceAgent  # the same fields for both kinds
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def _post_clean(self):
        # Validation happens in agent_create / agent_update, not on save.
        pass
