"""Dashboard forms. They collect input; the rules and messages come from the services, the
same as for the API."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from kalem_site.accounts.countries import country_name
from kalem_site.accounts.models import Account
from kalem_site.ids import id_in_range
from kalem_site.ordering import naturally_sorted
from kalem_site.widgets import FastSelect

from .models import ASSIGNMENTS, PhoneNumber
from .phone import parse_pasted_number
from .trunk_form import TrunkFieldsForm

PER_PAGE_CHOICES = (15, 50, 100)


class PerPageForm(forms.Form):
    """The list's rows per page, for its select; any other value the URL gives is clamped by
    the view, not an error."""

    per_page = forms.TypedChoiceField(choices=[(n, n) for n in PER_PAGE_CHOICES], coerce=int)


class NaturalOrderChoiceIterator(forms.models.ModelChoiceIterator):
    """The choices by name in natural order ("Agent 2" before "Agent 10")."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in naturally_sorted(self.queryset):
            yield self.choice(obj)


class AccountChoiceField(forms.ModelChoiceField):
    """An optional choice among the account's agents or trunks; empty means unassigned."""

    iterator = NaturalOrderChoiceIterator

    def __init__(self, model, **kwargs):
        # FastSelect: the numbers list renders three of these, each with every agent or trunk.
        super().__init__(
            queryset=model.objects.none(), required=False, empty_label="— none —", widget=FastSelect, **kwargs
        )


class IdListField(forms.Field):
    """The ids of the selected rows. Any id is accepted here: the services only ever touch
    rows of the user's account."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids = []
        for item in value or []:
            pk = id_in_range(item) if item.isascii() and item.isdigit() else None
            if pk is None:
                raise forms.ValidationError("The selection is not valid.")
            ids.append(pk)
        return ids


class AssignmentForm(forms.Form):
    """A form with the voice agent, text agent and trunk of a number (after the subclass's
    own fields), their choices limited to the user's account."""

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        for name, model in ASSIGNMENTS.items():
            self.fields[name] = field = AccountChoiceField(model, label=model.kind_title)
            field.queryset = model.objects.for_account(account).order_by("name")

    def assignment_fields(self) -> list:
        """The bound voice agent, text agent and trunk fields, for a template to loop over."""
        return [self[name] for name in ASSIGNMENTS]


class PastedNumberField(forms.CharField):
    """A phone number as people type or paste it, cleaned to E.164 by the form (it needs the
    account's default country for national numbers)."""

    # No max_length: an overlong value gets the E.164 message, as in the API.
    def __init__(self, **kwargs):
        attrs = {"placeholder": "+1 415 555 0142", "autocomplete": "off", "inputmode": "tel", "maxlength": "40"}
        super().__init__(strip=True, widget=forms.TextInput(attrs=attrs), **kwargs)


class NumberCreateForm(AssignmentForm):
    number = PastedNumberField()
    provider = forms.ChoiceField(choices=PhoneNumber.Provider.choices, initial=PhoneNumber.Provider.MANUAL)

    field_order = ["number", "provider"]

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, account=account, **kwargs)
        self.fields["number"].help_text = (
            f"With its country code (+44 20 7946 0000), or as a number of {country_name(account.default_country)} "
            f"(the account's default country). Spaces, dashes, dots and parentheses are fine."
        )

    def clean_number(self) -> str:
        return parse_pasted_number(self.cleaned_data["number"], self.account.default_country)


class NumberUpdateForm(AssignmentForm):
    status = forms.ChoiceField(choices=PhoneNumber.Status.choices)
    provider = forms.ChoiceField(choices=PhoneNumber.Provider.choices)

    field_order = ["status", "provider"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Find and fix: a number found by its search opens here, ready to change its agent.
        self.fields["voice_agent"].widget.attrs["autofocus"] = True


class BulkActionForm(AssignmentForm):
    """A bulk action on the rows ticked in the list (`scope` "selected") or on every number
    matching the list's filters (`scope` "all", `filter` the list's query string). Setting an
    agent or trunk needs a choice; unassigning is an action of its own."""

    ACTIONS = [
        ("activate", "Activate"),
        ("deactivate", "Deactivate"),
        *(
            choice
            for name, model in ASSIGNMENTS.items()
            for choice in (
                (f"assign_{name}", f"Set {model.kind_label}"),
                (f"unassign_{name}", f"Unassign {model.kind_label}"),
            )
        ),
        ("delete", "Delete"),
    ]
    SCOPES = [("selected", "The selected numbers"), ("all", "Every number matching the filter")]
    ids = IdListField(required=False)
    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    # The list's query string (its filters) for scope "all"; checked by the bulk service.
    filter = forms.CharField(required=False, strip=False, max_length=2000)

    field_order = ["ids", "action"]

    def clean(self):
        data = super().clean()
        data["scope"] = data.get("scope") or "selected"
        if data["scope"] == "selected" and not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", "Select one or more numbers first.")
        field = self.assigned_field()
        if (
            field
            and data.get("action", "").startswith("assign_")
            and data.get(field) is None
            and field not in self.errors
        ):
            label = ASSIGNMENTS[field].kind_label
            self.add_error(field, f"Choose the {label} to set, or choose “Unassign {label}”.")
        return data

    def assigned_field(self) -> str | None:
        """voice_agent, text_agent or trunk for the actions that set or unassign one."""
        action = self.cleaned_data.get("action", "")
        _, _, field = action.partition("assign_")
        return field or None

    def assignment(self) -> dict | None:
        """What the service's assign takes: {field: the chosen agent or trunk, or None}."""
        field = self.assigned_field()
        if field is None:
            return None
        return {field: self.cleaned_data[field] if self.cleaned_data["action"].startswith("assign_") else None}

    def show_choices(self, **loaded) -> None:
        """Render the dropdowns from agents and trunks the page has loaded already
        (`voice_agent=[…], text_agent=[…], trunk=[…]`) instead of querying them again."""
        for name, objects in loaded.items():
            self.fields[name].choices = [("", self.fields[name].empty_label), *((o.pk, str(o)) for o in objects)]


class TrunkForm(TrunkFieldsForm):
    def changes(self) -> dict:
        """The fields to hand to the service; an empty password keeps the current one."""
        data = dict(self.cleaned_data)
        if self.instance.pk and not data.get("password"):
            data.pop("password", None)
        return data


class WriteOnlyTextInput(forms.TextInput):
    """A text input that never renders a value: what was typed is not sent back in the page."""

    def format_value(self, value):
        return None


class TwilioCredentialsForm(forms.Form):
    """The account's Twilio credentials, write-only: the fields always render empty. Their
    format is checked by twilio_credentials_set()."""

    account_sid = forms.CharField(
        label="Account SID",
        max_length=100,
        widget=WriteOnlyTextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "AC…"}),
        help_text="Twilio Console → Account Info: AC followed by 32 hexadecimal digits.",
    )
    auth_token = forms.CharField(
        label="Auth token",
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again.",
    )


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: number,provider,voice_agent,text_agent,trunk,status — agents and trunks by name or id. "
        "The Export CSV button writes this format.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {filesizeformat(settings.IMPORT_MAX_BYTES)}.")
        return upload
