from django import forms


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. Production API.")
    read_only = forms.BooleanField(required=False, help_text="The token may only read; its writes get 403.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Leave empty for a token that does not expire."
    )
