from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "dixian.registry"
    label = "registry"
    verbose_name = "户籍台账"
