from django.contrib import admin
from django.urls import include, path

from portal.home.views import home
from portal.oai.views import oai_pmh

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("portal.catalog.urls")),
    path("", include("portal.audit.urls")),
    path("captures/", include("portal.captures.urls")),
    path("", include("portal.preservation.urls")),
    path("", include("restoration.urls")),
    path("api/", include("portal.api_urls")),
    path("oai/", oai_pmh, name="oai"),
    path("webhooks/", include("portal.webhooks.urls")),
    path("account/", include("portal.api.page_urls")),
]
