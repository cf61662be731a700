from django.apps import AppConfig


class RegionsConfig(AppConfig):
    name = "dixian.regions"
    label = "regions"
    verbose_name = "行政区划"
    default_auto_field = "django.db.models.BigAutoField"
