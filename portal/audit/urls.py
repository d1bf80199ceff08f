from django.urls import path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("history/", views.institution_history_view, name="institution_history"),
]
