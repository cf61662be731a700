from django.contrib import admin
from django.urls import include, path

from dixian.api.main import api

admin.site.site_header = "底线 · 系统管理"
admin.site.site_title = "底线"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("figures/", include("dixian.indicators.urls")),
    path("monitoring/", include("dixian.monitoring.urls")),
    path("reports/", include("dixian.reports.urls")),
    path("alerts/", include("dixian.screening.urls")),
    path("", include("dixian.web.urls")),
]

handler404 = "dixian.web.views.not_found"
