from django.contrib import admin

from .models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "level", "parent_code", "valid_from", "valid_to", "source")
    list_filter = ("level", "source")
    search_fields = ("=code", "name", "short_name")
    ordering = ("code",)
    list_per_page = 100
    show_full_result_count = False
