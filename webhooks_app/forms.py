from django import forms

from .models import EVENT_TYPES, MAX_URL_LENGTH
from .services import MAX_DESCRIPTION


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=MAX_URL_LENGTH,
        strip=True,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/kalem"}),
        help_text="https:// only, on a public host.",
    )
    description = forms.CharField(max_length=MAX_DESCRIPTION, required=False)
    events = forms.MultipleChoiceField(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
