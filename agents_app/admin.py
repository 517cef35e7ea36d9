from django.contrib import admin

from kalem_site.actors import admin_actor

from . import services
from .models import TextAgent, VoiceAgent


class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "description", "updated_at"]
    list_filter = ["account"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {"name": form.cleaned_data["name"], "description": form.cleaned_data["description"]}
        if change:
            # obj holds the form's values already; the service compares against the stored row.
            services.agent_update(actor=admin_actor(request), agent=self.model.objects.get(pk=obj.pk), **fields)
        else:
            obj.pk = services.agent_create(model=self.model, account=form.cleaned_data["account"], **fields).pk

    def delete_model(self, request, obj):
        services.agent_delete(actor=admin_actor(request), agent=obj)

    def delete_queryset(self, request, queryset):
        for agent in queryset:
            services.agent_delete(actor=admin_actor(request), agent=agent)


admin.site.register(VoiceAgent, AgentAdmin)
admin.site.register(TextAgent, AgentAdmin)
