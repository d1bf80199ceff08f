from django.urls import path, re_path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("history/", views.institution_history_view, name="institution_history"),
    path("history/verify/", views.history_verify_view, name="history_verify"),
    re_path(
        r"^history/export\.(?P<fmt>csv|json)$",
        views.institution_history_export,
        name="history_export",
    ),
]
