"""The trunk as form input, for the two faces that edit trunks (the dashboard's trunk form and
the admin's): its writable fields (services.TRUNK_FIELDS), their help and placeholders, and
the password, which is write-only everywhere: never rendered back, and an empty field keeps
the current one. The rules themselves are the model's and the services' (trunk_create /
trunk_update); the form checks them all at once so that one round shows every error."""

import copy

from django import forms
from django.core.exceptions import ValidationError

from .models import SipTrunk
from .services import DUPLICATE_TRUNK_NAME_MESSAGE, TRUNK_FIELDS, trunk_name_taken

# What an unchosen select says, instead of Django's "---------".
SELECT_PLACEHOLDERS = {
    "direction": "Choose a direction…",
    "auth_type": "Choose how the trunk authenticates…",
}


class TrunkFieldsForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Required for digest authentication. Never shown again; leave empty to keep the current one.",
    )

    class Meta:
        model = SipTrunk
        fields = list(TRUNK_FIELDS)
        help_texts = {
            "host": "IP address or hostname. Required for inbound trunks with IP authentication.",
            "outbound_server": "host[:port]. Required for outbound trunks.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"placeholder": "e.g. Primary carrier"}),
            "host": forms.TextInput(attrs={"placeholder": "e.g. 203.0.113.7 or sip.example.com"}),
            "outbound_server": forms.TextInput(attrs={"placeholder": "e.g. sip.example.net:5060"}),
            "username": forms.TextInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, instance: SipTrunk | None = None, **kwargs):
        # Validation writes the form's values onto its instance: a copy, so that the caller's
        # trunk stays as stored for the service to compare against (and for the page to show
        # while the form has errors).
        super().__init__(*args, instance=copy.copy(instance) if instance is not None else None, **kwargs)
        for name, placeholder in SELECT_PLACEHOLDERS.items():
            field = self.fields.get(name)  # a view-only admin page has no fields
            if field is None:
                continue
            field.choices = [("", placeholder), *((value, label) for value, label in field.choices if value != "")]

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name")
        account = self.instance.account if self.instance.account_id else cleaned.get("account")
        if (
            name
            and account is not None
            and trunk_name_taken(account_id=account.pk, name=name, trunk_id=self.instance.pk)
        ):
            self.add_error("name", DUPLICATE_TRUNK_NAME_MESSAGE)
        return cleaned

    def _post_clean(self):
        # A typed password is set (encrypted) on the instance so that the trunk's rules see
        # it; an empty one leaves the stored password as it is.
        if self.cleaned_data.get("password"):
            try:
                self.instance.password = self.cleaned_data["password"]
            except ValidationError as error:
                self.add_error(None, error)
        # The model's field rules and its conditional rules (SipTrunk.clean()) on every field
        # that passed the form's own checks, so that host and port errors come with the
        # direction and auth type errors, not a round later. The service checks them again.
        super()._post_clean()
