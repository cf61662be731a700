from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dixian.web"
    label = "web"
    verbose_name = "网页"
