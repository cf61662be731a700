from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "dixian.reports"
    label = "reports"
    verbose_name = "报表"
