"""Cached pages of list endpoints (``CachedListMixin``), per institution and query.

A page of the tapes list is the same for every client of an institution until the
institution's data changes, so its serialized rows and count are cached under a key of
``portal.cache`` (the institution's generation, replaced by every change, and the query). The
request still goes through authentication, permissions and throttling; only the query, the
serializer and the count are skipped. Query checks and filters run on a miss, so a query that
was refused is never cached, and pagination links are built for each request (its host).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from rest_framework.request import Request
from rest_framework.response import Response

from portal.cache import FRAGMENT_TIMEOUT, fragment_key


class CachedListMixin:
    """For a ``ListModelMixin`` view scoped by ``self.institution`` with page pagination."""

    cache_name = ""  # the fragment's name, e.g. "api-tapes"

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        key = fragment_key(
            view.institution.pk,
            self.cache_name or type(self).__name__,
            request.accepted_media_type,
            sorted(request.query_params.lists()),
        )
        cached = cache.get(key)
        if cached is not None:
            count, number, results = cached
            return view.get_paginated_response(self._page(request, count, number, results))
        response: Response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        page = getattr(view.paginator, "page", None)
        if response.status_code == 200 and page is not None:
            entry = (page.paginator.count, page.number, list(response.data["results"]))
            cache.set(key, entry, FRAGMENT_TIMEOUT)
        return response

    def _page(self, request: Request, count: int, number: int, results: Any) -> Any:
        """Put the paginator in the state a real page leaves it in; return the results."""
        pagination: Any = getattr(self, "paginator")  # noqa: B009 (DRF's property)
        size = pagination.get_page_size(request)
        paginator: Paginator[Any] = Paginator([], size)
        paginator.__dict__["count"] = count  # the cached count (a cached_property)
        pagination.page = Page(results, number, paginator)
        pagination.request = request
        pagination.display_page_controls = paginator.num_pages > 1
        return results
