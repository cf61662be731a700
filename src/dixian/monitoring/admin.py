"""Admin for the lists and values kept as data. Saves go through the services, so they are audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction

from dixian.core import audit
from dixian.core.errors import DixianError
from dixian.monitoring import services
from dixian.monitoring.models import Channel, PolicyValue


@admin.register(PolicyValue)
class PolicyValueAdmin(admin.ModelAdmin):
    list_display = ("key", "region_code", "year", "value", "source", "updated_by", "updated_at")
    list_filter = ("key", "region_code", "year")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request, obj, form, change):
        try:
            services.set_policy_value(
                actor=request.user,
                key=obj.key,
                region_code=obj.region_code,
                year=obj.year,
                value=obj.value,
                source=obj.source,
            )
        except DixianError as exc:
            messages.error(request, exc.message)

    def has_delete_permission(self, request, obj=None):
        return False  # a value is replaced by a later year, never deleted


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("label", "code", "order", "active")
    list_editable = ("order", "active")

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action="channel.save",
                object_type="channel",
                object_id=obj.pk,
                object_label=obj.label,
                details={"active": obj.active, "order": obj.order},
            )

    def has_delete_permission(self, request, obj=None):
        return False  # leads refer to their channel; switch it off instead
