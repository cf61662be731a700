from django.urls import path

from dixian.monitoring import quality, views

app_name = "monitoring"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("leads/", views.lead_list, name="leads"),
    path("leads/new/", views.lead_new, name="lead_new"),
    path("leads/lookup/", views.household_lookup, name="household_lookup"),
    path("leads/<int:pk>/", views.lead_detail, name="lead"),
    path("reviews/<int:pk>/", views.review_detail, name="review"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("cases/<int:pk>/eliminate/", views.eliminate, name="eliminate"),
    path("households/<int:pk>/measures/new/", views.measure_new, name="measure_new"),
    path("households/<int:pk>/income/new/", views.income_new, name="income_new"),
    path("policy/", views.policy_page, name="policy"),
    path("quality/", quality.quality_page, name="quality"),
]
