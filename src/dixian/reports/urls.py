from django.urls import path

from dixian.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.reports, name="reports"),
    path("tables.xlsx", views.tables_download, name="tables"),
    path("briefing.docx", views.briefing_download, name="briefing"),
    path("template.docx", views.template_download, name="template"),
]
