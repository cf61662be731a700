from django.contrib.auth import views as auth_views
from django.urls import path

from dixian.web import views
from dixian.web.forms import LoginForm

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("households/", views.household_list, name="households"),
    path("households/villages/", views.village_options, name="village_options"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("reveal/<str:kind>/<int:pk>/", views.reveal, name="reveal"),
    path("ledger/import/", views.ledger_import, name="ledger_import"),
    path("ledger/imports/<int:pk>/", views.ledger_import_detail, name="ledger_import_detail"),
    path("ledger/imports/<int:pk>/report.xlsx", views.ledger_import_report, name="ledger_import_report"),
    path("ledger/export/", views.ledger_export, name="ledger_export"),
    path("audit/", views.audit_log, name="audit"),
    path("healthz", views.healthz, name="healthz"),
]
