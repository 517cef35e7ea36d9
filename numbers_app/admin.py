from contextlib import suppress

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import ValidationError
from django.db.models import Sum

from kalem_site.accounts.admin import ReadOnlyAdmin
from kalem_site.accounts.models import Account
from kalem_site.actors import admin_actor
from kalem_site.ids import id_in_range
from kalem_site.paging import CountedPaginator

from . import services
from .filters import NUMBER_DIGITS, UNASSIGNED
from .models import ASSIGNMENTS, ImportJob, NumberEvent, PhoneNumber, SipTrunk
from .phone import parse_e164, search_digits
from .tally import number_tally_for
from .trunk_form import TrunkFieldsForm


class PhoneNumberAdminForm(forms.ModelForm):
    """Checks the services' rules while the form can still show them: save_model() runs
    after validation, where a ValidationError from a service would be a 500."""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("number"):
            try:
                cleaned["number"] = parse_e164(cleaned["number"])
            except ValidationError as error:
                self.add_error("number", error)
        account = cleaned.get("account") if "account" in self.fields else self.instance.account
        if account is not None:
            try:
                services.check_same_account(account.id, {f: cleaned.get(f) for f in services.ASSIGNMENT_FIELDS})
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    form = PhoneNumberAdminForm
    list_display = ["number", "account", "status", "provider", *ASSIGNMENTS, "updated_at"]
    list_filter = ["account", "status", "provider", *ASSIGNMENTS]
    search_fields = ["number", "account__name", *(f"{field}__name" for field in ASSIGNMENTS)]
    list_select_related = ["account", *ASSIGNMENTS]
    autocomplete_fields = ["account", *ASSIGNMENTS]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 100
    actions = ["activate", "deactivate"]
    # The total of every number would be a COUNT(*) over all accounts on each page.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """A search of digits (with the punctuation a number is written with) finds the numbers
        containing them, through the digits' trigram index, as the dashboard's and the API's
        search does; any other search looks in the account's and the agents' and trunk's
        names, and in the numbers, as Django's admin does."""
        try:
            digits = search_digits(search_term)
        except ValidationError:
            digits = ""
        if not digits:
            return super().get_search_results(request, queryset, search_term)
        return queryset.alias(number_digits=NUMBER_DIGITS).filter(number_digits__contains=digits), False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        """Pages read from the nearer end as deferred joins (the last page costs what the
        first does), counted from NumberTally when the filters allow, else by COUNT(*)."""
        return CountedPaginator(
            queryset,
            per_page,
            count=_tally_count(request.GET),
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
        )

    def get_readonly_fields(self, request, obj=None):
        # The number of an existing entry never changes (as in the API).
        return [*self.readonly_fields, "number", "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("provider", *services.ASSIGNMENT_FIELDS)}
        if change:
            # The form has already copied its values onto obj; the service compares against
            # the stored row to know what changed.
            stored = PhoneNumber.objects.with_assignments().get(pk=obj.pk)
            services.number_update(
                actor=admin_actor(request), number=stored, status=form.cleaned_data["status"], **fields
            )
        else:
            created = services.number_create(
                actor=admin_actor(request),
                account=form.cleaned_data["account"],
                number=form.cleaned_data["number"],
                status=form.cleaned_data["status"],
                **fields,
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        with suppress(PhoneNumber.DoesNotExist):  # deleted meanwhile: nothing left to do
            services.number_delete(actor=admin_actor(request), number=obj)

    def delete_queryset(self, request, queryset):
        # The "delete selected" action, through the service like every other write.
        for number in queryset:
            with suppress(PhoneNumber.DoesNotExist):
                services.number_delete(actor=admin_actor(request), number=number)

    def _set_status(self, request, queryset, *, active: bool) -> None:
        changed = 0
        for number in queryset:
            before = number.status
            with suppress(PhoneNumber.DoesNotExist):  # deleted meanwhile
                updated = services.number_set_status(actor=admin_actor(request), number=number, active=active)
                changed += updated.status != before
        self.message_user(request, f"{changed} number(s) {'activated' if active else 'deactivated'}.", messages.SUCCESS)

    @admin.action(description="Activate selected numbers")
    def activate(self, request, queryset):
        self._set_status(request, queryset, active=True)

    @admin.action(description="Deactivate selected numbers")
    def deactivate(self, request, queryset):
        self._set_status(request, queryset, active=False)


# The changelist's filter parameters that NumberTally can answer: parameter → the list filter
# (as NumberFilter names it) whose value it gives.
_TALLY_PARAMS = {
    "status__exact": "status",
    "provider__exact": "provider",
    **{f"{field}__id__exact": f"{field}_id" for field in ASSIGNMENTS},
}
# Parameters that change the order or the page, not which rows are counted (and an empty
# search, which the search box sends).
_UNCOUNTED_PARAMS = {ORDER_VAR, PAGE_VAR}


def _tally_count(params) -> int | None:
    """How many numbers the admin's numbers list has with these parameters, from NumberTally
    (a sum over its rows, for one account or all), or None when a parameter (a search, a
    filter the tally does not keep) needs a COUNT(*)."""
    account, filters = None, {}
    for name, value in params.items():
        if name in _UNCOUNTED_PARAMS or (name == SEARCH_VAR and not value.strip()):
            continue
        if name in _TALLY_PARAMS and (not name.endswith("_id__exact") or _an_id(value)):
            filters[_TALLY_PARAMS[name]] = value
        elif name == "account__id__exact" and _an_id(value):
            account = Account(id=_an_id(value))
        elif name.endswith("__isnull") and name.removesuffix("__isnull") in ASSIGNMENTS and _is_true(value):
            filters[f"{name.removesuffix('__isnull')}_id"] = UNASSIGNED
        else:
            return None
    tally = number_tally_for(account=account, filters=filters)
    return tally.aggregate(total=Sum("count"))["total"] or 0


def _is_true(value: str) -> bool:
    # As the admin reads an __isnull value.
    return value.lower() not in ("", "false", "0")


def _an_id(value: str) -> int | None:
    return id_in_range(value) if value.isascii() and value.isdigit() else None


class SipTrunkAdminForm(TrunkFieldsForm):
    """The trunk's fields plus the account. The password stays write-only: staff can set it
    but never read it back, and an empty field keeps the current one."""

    class Meta(TrunkFieldsForm.Meta):
        fields = ["account", *TrunkFieldsForm.Meta.fields]


@admin.register(SipTrunk)
class SipTrunkAdmin(admin.ModelAdmin):
    form = SipTrunkAdminForm
    list_display = ["name", "account", "direction", "auth_type", "host", "port", "outbound_server", "registered"]
    list_filter = ["account", "direction", "auth_type", "registered"]
    search_fields = ["name", "host", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["registered", "created_at", "updated_at"]
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.TRUNK_FIELDS}
        if change and not fields["password"]:
            del fields["password"]  # kept
        if change:
            # obj holds the form's values already; the service compares against the stored row.
            services.trunk_update(actor=admin_actor(request), trunk=SipTrunk.objects.get(pk=obj.pk), **fields)
        else:
            obj.pk = services.trunk_create(account=form.cleaned_data["account"], **fields).pk

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A view-only page shows every field as text: the password must not be one of them.
            fields = [field for field in fields if field != "password"]
        return fields

    def delete_model(self, request, obj):
        services.trunk_delete(actor=admin_actor(request), trunk=obj)

    def delete_queryset(self, request, queryset):
        for trunk in queryset:
            services.trunk_delete(actor=admin_actor(request), trunk=trunk)


@admin.register(NumberEvent)
class NumberEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "number", "account", "action", "field", "actor_name", "channel"]
    list_filter = ["action", "channel", "actor_type", "account"]
    search_fields = ["number", "actor_name", "account__name"]
    list_select_related = ["account"]
    list_per_page = 100
    # Counting every event of every account on each page would cost more than the page.
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["filename", "account", "created_by", "state", "total_rows", "created_at"]
    list_filter = ["state", "account"]
    search_fields = ["filename", "account__name"]
    list_select_related = ["account", "created_by"]
    # The file itself is left out: it can be megabytes.
    exclude = ["content"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")
