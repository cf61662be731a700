from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from dixian.accounts.models import User


@admin.register(User)
class DixianUserAdmin(UserAdmin):
    list_display = ("username", "full_name", "role", "region_code", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name", "region_code")
    fieldsets = UserAdmin.fieldsets + (
        ("底线", {"fields": ("full_name", "role", "region_code", "department", "phone")}),
    )
