from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "dixian.monitoring"
    label = "monitoring"
    verbose_name = "动态监测"
