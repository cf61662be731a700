from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dixian.accounts"
    label = "accounts"
    verbose_name = "账户"
