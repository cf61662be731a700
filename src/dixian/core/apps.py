from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dixian.core"
    label = "core"
    verbose_name = "基础"
