from django.urls import path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("history/", views.institution_history_view, name="institution_history"),
    path("history/verify/", views.history_verify_view, name="history_verify"),
]
