"""The trunk as form input, for the two faces that edit trunks (the dashboard's trunk form and
the admin's): its writable fields (services.TRUNK_FIELDS), their help, and the password,
which is write-only everywhere: never rendered back, and an empty field keeps the current
one. The rules themselves are the services' (trunk_create / trunk_update)."""

from django import forms

from .models import SipTrunk
from .services import TRUNK_FIELDS


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
