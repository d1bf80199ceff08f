from django.urls import path

from portal.preservation import views

app_name = "preservation"

urlpatterns = [
    path("storage/", views.storage_overview, name="storage"),
    path("storage/packages/tape/<int:tape_pk>/", views.package_create, name="package_create"),
    path("storage/packages/<int:pk>/bag.tar", views.package_download, name="package_download"),
]
