"""/api/: the one REST router over every app's endpoints (each app's ``api.py``), token login,
the OpenAPI schema and its offline docs pages.

Wiring at the top of the layering (docs/architecture.md): it imports the apps' APIs, none of
them imports it.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal.api.schema_view import SchemaView, redoc_bundle
from portal.api.views_misc import api_not_found
from portal.api.views_tokens import TokenViewSet, obtain_token
from portal.audit.api import institution_timeline
from portal.captures.api import CaptureViewSet
from portal.catalog.api import CollectionViewSet, TapeViewSet, tape_timeline
from portal.preservation.api import StorageUsageView
from portal.webhooks.api import WebhookViewSet
from restoration import api as restoration_api  # also registers the ``api_id`` path converter

app_name = "api"

router = DefaultRouter()
router.include_format_suffixes = False  # one URL per resource; the Accept header picks
router.register("collections", CollectionViewSet, basename="collection")
router.register("tapes", TapeViewSet, basename="tape")
router.register("captures", CaptureViewSet, basename="capture")
router.register("tokens", TokenViewSet, basename="token")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.registry.extend(restoration_api.router.registry)  # restoration-jobs, restored-versions

urlpatterns = [
    # tus resumable uploads (portal.uploads): browser and API clients alike.
    path("v1/uploads/", include("portal.uploads.urls")),
    path("v1/storage-usage/", StorageUsageView.as_view(), name="storage_usage"),
    path("v1/", include(router.urls)),
    path("v1/", include("restoration.api")),
    path("v1/tapes/<api_id:tape_id>/timeline/", tape_timeline, name="tape-timeline"),
    path("v1/audit-events/", institution_timeline, name="audit-events"),
    path("v1/auth/token/", obtain_token, name="obtain-token"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle, name="redoc_bundle"),
    # Anything else under /api/ answers in the API's error shape, not with an HTML page.
    re_path(r"^.*$", api_not_found),
]
