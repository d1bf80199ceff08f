"""Page-number pagination with a client-chosen page size (bounded).

A ``page_size`` that is not a whole number from 1 answers 400 (DRF would silently use the
default size); one above ``max_page_size`` gives the largest page, as documented."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    page_size_query_description = "Results per page, 1 to 500 (default 50)."

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and (not raw.strip().isdigit() or int(raw) < 1):
            raise ValidationError(
                {self.page_size_query_param: ["A whole number from 1 to 500, e.g. 100."]}
            )
        return super().get_page_size(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 500}
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
