from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "dixian.screening"
    label = "screening"
    verbose_name = "部门筛查预警"
