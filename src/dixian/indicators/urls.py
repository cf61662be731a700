from django.urls import path

from dixian.indicators import views

app_name = "indicators"

urlpatterns = [
    path("", views.figures, name="figures"),
    path("catalogue/", views.catalogue_page, name="catalogue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("periods/", views.periods, name="periods"),
]
