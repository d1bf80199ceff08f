from django.urls import path

from portal.api import pages

app_name = "api_pages"

urlpatterns = [
    path("tokens/", pages.token_page, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke_view, name="token_revoke"),
]
