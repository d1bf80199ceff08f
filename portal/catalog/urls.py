from django.urls import path, re_path

from portal.catalog import views, views_bulk

app_name = "catalog"

urlpatterns = [
    path("tapes/", views.tape_list, name="tape_list"),
    path("tapes/new/", views.tape_create, name="tape_create"),
    path("tapes/export.csv", views.tape_export, name="tape_export"),
    path("tapes/bulk/", views_bulk.tape_bulk, name="tape_bulk"),
    path("tapes/import/", views.tape_import, name="tape_import"),
    path("tapes/<int:pk>/", views.tape_detail, name="tape_detail"),
    path("tapes/<int:pk>/edit/", views.tape_edit, name="tape_edit"),
    path("tapes/<int:pk>/delete/", views.tape_delete, name="tape_delete"),
    path("tapes/<int:pk>/history/", views.tape_history_view, name="tape_history"),
    re_path(
        r"^tapes/(?P<pk>[0-9]+)/history/export\.(?P<fmt>csv|json)$",
        views.tape_history_export,
        name="tape_history_export",
    ),
    path("collections/", views.collection_list, name="collection_list"),
    path("collections/new/", views.collection_create, name="collection_create"),
    path("collections/<int:pk>/edit/", views.collection_edit, name="collection_edit"),
    path("collections/<int:pk>/delete/", views.collection_delete, name="collection_delete"),
]
