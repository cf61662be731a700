from django.urls import path

from dixian.indicators import views

app_name = "indicators"

urlpatterns = [
    path("", views.figures, name="figures"),
]
