from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "dixian.indicators"
    label = "indicators"
    verbose_name = "监测数据"
