from django.urls import path

from dixian.screening import views

app_name = "screening"

urlpatterns = [
    path("", views.alert_list, name="alerts"),
    path("<int:pk>/", views.alert_detail, name="alert"),
    path("<int:pk>/assign/", views.alert_assign, name="alert_assign"),
    path("<int:pk>/reveal/", views.alert_reveal, name="alert_reveal"),
    path("feeds/", views.feed_list, name="feeds"),
    path("feeds/upload/", views.feed_upload, name="feed_upload"),
    path("feeds/mapping/", views.feed_mapping, name="feed_mapping"),
    path("feeds/<int:pk>/", views.feed_detail, name="feed"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/edit/", views.rule_edit, name="rule_edit"),
    path("runs/", views.run_list, name="runs"),
    path("runs/replay/", views.replay_page, name="replay"),
    path("closure/", views.closure, name="closure"),
]
