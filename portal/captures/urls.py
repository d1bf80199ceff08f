from django.urls import path

from portal.captures import views, views_list

app_name = "captures"

urlpatterns = [
    path("", views_list.capture_list, name="list"),
    path("export.csv", views_list.capture_export, name="export"),
    path("bulk/", views_list.capture_bulk, name="bulk"),
    path("upload/<int:tape_pk>/", views.capture_upload, name="upload"),
    path("<int:pk>/", views.capture_detail, name="detail"),
    path("<int:pk>/status/", views.capture_status, name="status"),
    path("<int:pk>/retry-proxy/", views.capture_retry_proxy, name="retry_proxy"),
    path("<int:pk>/delete/", views.capture_delete_view, name="delete"),
    path("<int:pk>/original/", views.capture_original, name="original"),
    path("<int:pk>/proxy.mp4", views.capture_proxy, name="proxy"),
    path("<int:pk>/poster.jpg", views.capture_poster, name="poster"),
]
