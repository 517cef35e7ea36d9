from django import forms

from .countries import DefaultCountryField
from .models import Account


class AccountSettingsForm(forms.ModelForm):
    """The settings an operator changes for the account; written by account_update_settings()."""

    default_country = DefaultCountryField(
        help_text="Numbers typed or pasted without a country code (415-555-0142) are read as numbers of this country."
    )

    class Meta:
        model = Account
        fields = ["default_country"]

    def _post_clean(self):
        # The service validates and saves; the form only collects the choice.
        pass


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. Production API.")
    read_only = forms.BooleanField(required=False, help_text="The token may only read; its writes get 403.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Leave empty for a token that does not expire."
    )
