from django.urls import path

from portal.uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.upload_collection, name="collection"),
    path("<uuid:upload_id>", views.upload_detail, name="detail"),
]
