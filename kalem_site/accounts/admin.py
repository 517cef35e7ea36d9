from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .countries import DefaultCountryField
from .models import Account, ApiToken, TwilioCredentials, User
from .services import token_revoke


class AccountAdminForm(forms.ModelForm):
    default_country = DefaultCountryField(initial="US")

    class Meta:
        model = Account
        fields = ["name", "default_country"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ["name", "default_country", "created_at"]
    list_filter = ["default_country"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "account", "email", "is_staff", "is_active"]
    list_filter = ["account", "is_staff", "is_active"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    fieldsets = [*DjangoUserAdmin.fieldsets, ("Account", {"fields": ["account"]})]
    add_fieldsets = [*DjangoUserAdmin.add_fieldsets, ("Account", {"fields": ["account"]})]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created in the dashboard or with `createtoken`, where the plaintext is shown
    once. Here staff can only look at them and revoke them; the digest is never editable."""

    list_display = ["name", "account", "prefix", "read_only", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["account", "read_only"]
    search_fields = ["name", "prefix", "account__name"]
    list_select_related = ["account"]
    readonly_fields = [
        "account",
        "name",
        "prefix",
        "digest",
        "read_only",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the record of a token stays

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record that only the services write: staff may look, not touch."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TwilioCredentials)
class TwilioCredentialsAdmin(ReadOnlyAdmin):
    """Which accounts have stored Twilio credentials, and when. The SID and the token are
    stored in the dashboard (Numbers → Import from Twilio) and never shown, here neither."""

    list_display = ["account", "updated_at"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    fields = ["account", "updated_at"]
    readonly_fields = ["account", "updated_at"]
